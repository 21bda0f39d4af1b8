//! The gRPC service: each RPC maps onto a [`Daemon`] operation.

use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures::Stream;
use gochat_proto::ipc::daemon_server::Daemon as DaemonApi;
use gochat_proto::ipc::*;
use gochat_proto::wire::{
    self, AdminRequest as WireAdmin, Permission, PublicKey, Request, Response, UserList as WireList,
};
use tonic::{Request as Rpc, Response as Reply, Status};

use crate::daemon::Daemon;
use crate::error::ApiError;
use crate::store::ServerRow;

/// The API over a running daemon.
#[derive(Clone)]
pub struct ApiService {
    daemon: Arc<Daemon>,
}

impl ApiService {
    /// Serves `daemon`.
    pub fn new(daemon: Arc<Daemon>) -> Self {
        ApiService { daemon }
    }
}

type Result<T> = std::result::Result<Reply<T>, Status>;

/// Moves a secret (passphrase, private key) out of a request into memory that is wiped when
/// dropped, leaving the request's field empty.
fn secret(field: &mut String) -> zeroize::Zeroizing<String> {
    zeroize::Zeroizing::new(std::mem::take(field))
}

fn ok<T>(value: T) -> Result<T> {
    Ok(Reply::new(value))
}

fn profile_view(s: &ServerRow) -> ServerProfile {
    ServerProfile {
        name: s.name.clone(),
        host: s.host.clone(),
        port: u32::from(s.port),
        tls: s.tls,
        skip_verify: !s.verify,
        ca_file: s.ca_file.clone().unwrap_or_default(),
        is_default: s.is_default,
        pins: s.pins.clone(),
        rejected_certificate: s
            .rejected
            .as_ref()
            .map(crate::convert::rejected_certificate),
    }
}

fn profile_row(p: &ServerProfile) -> std::result::Result<ServerRow, ApiError> {
    if p.name.is_empty() || p.host.is_empty() {
        return Err(ApiError::Invalid(
            "a server profile needs a name and a host".into(),
        ));
    }
    let port = if p.port == 0 {
        if p.tls { 8037 } else { 9037 }
    } else {
        p.port
    };
    Ok(ServerRow {
        id: 0,
        name: p.name.clone(),
        host: p.host.clone(),
        port: u16::try_from(port)
            .map_err(|_| ApiError::Invalid(format!("port {port} is out of range")))?,
        tls: p.tls,
        verify: !p.skip_verify,
        ca_file: (!p.ca_file.is_empty()).then(|| p.ca_file.clone()),
        is_default: p.is_default,
        pins: p.pins.clone(),
        rejected: None,
    })
}

use crate::convert::contact as contact_view;

fn settings_view(daemon: &Daemon) -> SettingList {
    SettingList {
        settings: daemon
            .notify
            .shown()
            .iter()
            .map(crate::service::housekeeping::setting_view)
            .collect(),
    }
}

fn account_ref(server: &ServerRow, account: &crate::store::AccountRow) -> AccountRef {
    AccountRef {
        server: server.name.clone(),
        username: account.username.clone(),
    }
}

fn message_views(found: &crate::service::messages::Messages) -> Vec<Message> {
    let aref = account_ref(&found.server, &found.account);
    found
        .rows
        .iter()
        .map(|m| crate::convert::message(m, &aref))
        .collect()
}

fn hook(h: i32) -> std::result::Result<wire::Hook, ApiError> {
    u8::try_from(h)
        .ok()
        .and_then(wire::Hook::from_code)
        .ok_or_else(|| ApiError::Invalid(format!("unknown hook {h}")))
}

/// A reply of the wrong kind from the chat server.
fn unexpected(reply: &Response) -> ApiError {
    ApiError::BadServerData(format!("unexpected reply {}", reply.action()))
}

impl ApiService {
    async fn expect_ok(&self, account: Option<&AccountRef>, request: Request) -> Result<Empty> {
        match self.daemon.call(account, request).await? {
            Response::Ok => ok(Empty {}),
            other => Err(unexpected(&other).into()),
        }
    }
}

#[tonic::async_trait]
impl DaemonApi for ApiService {
    async fn status(&self, _: Rpc<Empty>) -> Result<StatusReply> {
        ok(StatusReply {
            daemon_version: env!("CARGO_PKG_VERSION").to_owned(),
            protocol_version: u32::from(wire::PROTOCOL_VERSION),
            instance_id: self.daemon.events.instance_id().to_owned(),
            last_event_id: self
                .daemon
                .store
                .last_event_id()
                .await
                .map_err(ApiError::from)?,
            links: self.daemon.links().await?,
            pid: std::process::id(),
        })
    }

    async fn stop(&self, _: Rpc<Empty>) -> Result<Empty> {
        let daemon = self.daemon.clone();
        self.daemon.tasks.spawn(async move { daemon.stop().await });
        ok(Empty {})
    }

    async fn add_server(&self, r: Rpc<ServerProfile>) -> Result<ServerProfile> {
        let row = self.daemon.add_server(profile_row(r.get_ref())?).await?;
        ok(profile_view(&row))
    }

    async fn list_servers(&self, _: Rpc<Empty>) -> Result<ServerList> {
        let servers = self.daemon.list_servers().await?;
        ok(ServerList {
            servers: servers.iter().map(profile_view).collect(),
        })
    }

    async fn update_server(&self, r: Rpc<ServerProfile>) -> Result<ServerProfile> {
        let row = self.daemon.update_server(profile_row(r.get_ref())?).await?;
        ok(profile_view(&row))
    }

    async fn remove_server(&self, r: Rpc<ServerRef>) -> Result<Empty> {
        self.daemon.remove_server(&r.get_ref().name).await?;
        ok(Empty {})
    }

    async fn register(&self, r: Rpc<RegisterRequest>) -> Result<Account> {
        let mut r = r.into_inner();
        let passphrase = secret(&mut r.passphrase);
        let account = r.account.unwrap_or_default();
        let reply = self.daemon.register(&account, &passphrase).await?;
        self.daemon.config_changed("accounts").await;
        ok(reply)
    }

    async fn login(&self, r: Rpc<AccountRef>) -> Result<Account> {
        ok(self.daemon.login(Some(r.get_ref())).await?)
    }

    async fn logout(&self, r: Rpc<AccountRef>) -> Result<Account> {
        ok(self.daemon.logout(Some(r.get_ref())).await?)
    }

    async fn deregister(&self, r: Rpc<AccountRef>) -> Result<Empty> {
        self.daemon.deregister(Some(r.get_ref())).await?;
        let reply = Empty {};
        self.daemon.config_changed("accounts").await;
        ok(reply)
    }

    async fn unlock(&self, r: Rpc<UnlockRequest>) -> Result<Account> {
        let mut r = r.into_inner();
        let passphrase = secret(&mut r.passphrase);
        let reply = self.daemon.unlock(r.account.as_ref(), &passphrase).await?;
        self.daemon.config_changed("accounts").await;
        ok(reply)
    }

    async fn lock(&self, r: Rpc<AccountRef>) -> Result<Account> {
        let reply = self.daemon.lock_account(Some(r.get_ref())).await?;
        self.daemon.config_changed("accounts").await;
        ok(reply)
    }

    async fn list_accounts(&self, _: Rpc<Empty>) -> Result<AccountList> {
        let mut accounts = Vec::new();
        for account in self
            .daemon
            .store
            .list_accounts()
            .await
            .map_err(ApiError::from)?
        {
            if let Some(server) = self
                .daemon
                .store
                .server_by_id(account.server_id)
                .await
                .map_err(ApiError::from)?
            {
                accounts.push(self.daemon.account_view(&server, &account).await);
            }
        }
        ok(AccountList { accounts })
    }

    async fn resolve_account(&self, r: Rpc<AccountRef>) -> Result<Account> {
        let (server, account) = self.daemon.resolve_account(Some(r.get_ref())).await?;
        ok(self.daemon.account_view(&server, &account).await)
    }

    async fn change_passphrase(&self, r: Rpc<ChangePassphraseRequest>) -> Result<Account> {
        let mut r = r.into_inner();
        let (old, new) = (secret(&mut r.old_passphrase), secret(&mut r.new_passphrase));
        let reply = self
            .daemon
            .change_passphrase(r.account.as_ref(), &old, &new)
            .await?;
        self.daemon.config_changed("accounts").await;
        ok(reply)
    }

    async fn list_contacts(&self, r: Rpc<AccountRef>) -> Result<ContactList> {
        let contacts = self.daemon.contacts_with_prefs(Some(r.get_ref())).await?;
        ok(ContactList { contacts })
    }

    async fn list_users(&self, r: Rpc<ListUsersRequest>) -> Result<UserList> {
        let r = r.into_inner();
        let kind = match (r.online_only, r.with_permissions) {
            (false, false) => WireList::All,
            (true, false) => WireList::Online,
            (false, true) => WireList::AllPerms,
            (true, true) => WireList::OnlinePerms,
        };
        let packet_args = match self
            .daemon
            .call(r.account.as_ref(), Request::Users(kind))
            .await?
        {
            Response::Users { list } => vec![list],
            other => return Err(unexpected(&other).into()),
        };
        let mut users = Vec::new();
        for list in packet_args {
            for (name, level) in crate::link::untrusted::server_user_list(&list) {
                users.push(User {
                    name,
                    has_permission: level.is_some(),
                    permission: u32::from(level.unwrap_or(0)),
                });
            }
        }
        ok(UserList { users })
    }

    async fn request_key(&self, r: Rpc<UserRef>) -> Result<Contact> {
        let r = r.into_inner();
        let contact = self.daemon.request_key(r.account.as_ref(), &r.user).await?;
        ok(contact_view(&contact))
    }

    async fn accept_key(&self, r: Rpc<UserRef>) -> Result<Contact> {
        let r = r.into_inner();
        let contact = self.daemon.accept_key(r.account.as_ref(), &r.user).await?;
        ok(contact_view(&contact))
    }

    async fn send(&self, r: Rpc<SendRequest>) -> Result<SendReply> {
        let r = r.into_inner();
        let sent = self
            .daemon
            .send(r.account.as_ref(), &r.to, &r.text, r.wait)
            .await?;
        ok(SendReply {
            messages: message_views(&sent),
        })
    }

    async fn history(&self, r: Rpc<HistoryRequest>) -> Result<MessageList> {
        let r = r.into_inner();
        let page = self
            .daemon
            .history(
                r.account.as_ref(),
                &r.peer,
                (r.before > 0).then_some(r.before),
                r.limit,
            )
            .await?;
        ok(MessageList {
            messages: message_views(&page),
            next_before: page.next_before,
        })
    }

    async fn conversations(&self, r: Rpc<AccountRef>) -> Result<ConversationList> {
        let found = self.daemon.conversations(Some(r.get_ref())).await?;
        let aref = account_ref(&found.server, &found.account);
        ok(ConversationList {
            conversations: found
                .rows
                .iter()
                .map(|c| Conversation {
                    peer: c.peer.clone(),
                    last: Some(crate::convert::message(&c.last, &aref)),
                    unread: c.unread,
                })
                .collect(),
        })
    }

    async fn mark_read(&self, r: Rpc<MarkReadRequest>) -> Result<Empty> {
        let r = r.into_inner();
        self.daemon
            .mark_read(
                r.account.as_ref(),
                &r.peer,
                (r.up_to > 0).then_some(r.up_to),
            )
            .await?;
        ok(Empty {})
    }

    async fn search(&self, r: Rpc<SearchRequest>) -> Result<MessageList> {
        let r = r.into_inner();
        let found = self
            .daemon
            .search(
                r.account.as_ref(),
                &r.query,
                (!r.from.is_empty()).then_some(r.from.as_str()),
                (r.since > 0).then_some(r.since),
                r.limit,
            )
            .await?;
        ok(MessageList {
            messages: message_views(&found),
            next_before: 0,
        })
    }

    async fn subscribe_hook(&self, r: Rpc<HookRequest>) -> Result<Empty> {
        let r = r.into_inner();
        self.expect_ok(r.account.as_ref(), Request::Sub(hook(r.hook)?))
            .await
    }

    async fn unsubscribe_hook(&self, r: Rpc<HookRequest>) -> Result<Empty> {
        let r = r.into_inner();
        self.expect_ok(r.account.as_ref(), Request::Unsub(hook(r.hook)?))
            .await
    }

    async fn admin(&self, r: Rpc<AdminRequest>) -> Result<Empty> {
        let r = r.into_inner();
        let b = |s: String| Bytes::from(s);
        let request = match r.op {
            Some(admin_request::Op::ShutdownAt(at)) => WireAdmin::Shutdown {
                stamp: wire::encode_stamp(at).into(),
            },
            Some(admin_request::Op::Deregister(user)) => WireAdmin::Dereg { username: b(user) },
            Some(admin_request::Op::Broadcast(text)) => WireAdmin::Broadcast { text: b(text) },
            Some(admin_request::Op::SetPermission(p)) => WireAdmin::ChangePerms {
                username: b(p.user),
                level: u8::try_from(p.level)
                    .ok()
                    .and_then(Permission::from_code)
                    .ok_or_else(|| {
                        ApiError::Invalid(format!("permission level {} is not 0, 1 or 2", p.level))
                    })?
                    .code(),
            },
            Some(admin_request::Op::Kick(user)) => WireAdmin::Kick { username: b(user) },
            Some(admin_request::Op::Motd(text)) => WireAdmin::Motd { text: b(text) },
            None => return Err(ApiError::Invalid("no admin operation given".into()).into()),
        };
        self.expect_ok(r.account.as_ref(), request.into()).await
    }

    async fn show_key(&self, r: Rpc<AccountRef>) -> Result<KeyInfo> {
        let (_, account) = self.daemon.resolve_account(Some(r.get_ref())).await?;
        let key = PublicKey::parse(account.public_pem.as_bytes())
            .map_err(|e| ApiError::internal_from("the stored public key is unusable", e))?;
        ok(KeyInfo {
            fingerprint: key.fingerprint_hex(),
            public_pem: key.to_pem(),
            bits: key.bits() as u32,
        })
    }

    async fn export_key(&self, r: Rpc<ExportKeyRequest>) -> Result<ExportKeyReply> {
        let r = r.into_inner();
        ok(ExportKeyReply {
            private_pem: self.daemon.export_key(r.account.as_ref()).await?,
        })
    }

    async fn import_key(&self, r: Rpc<ImportKeyRequest>) -> Result<Account> {
        let mut r = r.into_inner();
        let (pem, passphrase) = (secret(&mut r.private_pem), secret(&mut r.passphrase));
        let account = r.account.unwrap_or_default();
        let reply = self.daemon.import(&account, &pem, &passphrase).await?;
        self.daemon.config_changed("accounts").await;
        ok(reply)
    }

    async fn import_go_client(&self, r: Rpc<ImportGoClientRequest>) -> Result<ImportGoClientReply> {
        let mut r = r.into_inner();
        let (go_password, passphrase) = (secret(&mut r.go_password), secret(&mut r.passphrase));
        let request = crate::service::go_import::GoImport {
            path: std::path::Path::new(&r.db_path),
            users: &r.users,
            go_password: &go_password,
            passphrase: &passphrase,
        };
        let report = self.daemon.import_go_client(&request).await?;
        let mut accounts = Vec::with_capacity(report.accounts.len());
        for a in &report.accounts {
            accounts.push(ImportedAccount {
                account: Some(self.daemon.account_view(&a.server, &a.account).await),
                created: a.created,
                contacts_pinned: a.contacts_pinned.clone(),
                contacts_unchanged: a.contacts_unchanged,
                contacts_skipped: a.contacts_skipped.clone(),
                messages_imported: a.messages_imported,
                messages_unchanged: a.messages_unchanged,
                messages_skipped: a.messages_skipped,
            });
        }
        ok(ImportGoClientReply {
            servers: report
                .servers
                .iter()
                .map(|s| ImportedServer {
                    profile: Some(profile_view(&s.profile)),
                    go_name: s.go_name.clone(),
                    created: s.created,
                })
                .collect(),
            accounts,
        })
    }

    async fn probe_server_certificate(&self, r: Rpc<ServerRef>) -> Result<CertificateInfo> {
        let verdict = self.daemon.probe_server(&r.get_ref().name).await?;
        ok(crate::convert::certificate(
            &verdict.der,
            verdict.problem.as_ref(),
        ))
    }

    async fn trust_server(&self, r: Rpc<TrustServerRequest>) -> Result<ServerProfile> {
        let r = r.into_inner();
        let row = self
            .daemon
            .trust_server(&r.name, &r.expect_sha256, r.keep_existing)
            .await?;
        ok(profile_view(&row))
    }

    async fn set_contact_prefs(&self, r: Rpc<ContactPrefsRequest>) -> Result<Contact> {
        let r = r.into_inner();
        let notify = match r.notify {
            None => None,
            Some(n) => Some(match NotifyMode::try_from(n) {
                Ok(NotifyMode::Unspecified) => None,
                Ok(NotifyMode::On) => Some(crate::store::NotifyMode::On),
                Ok(NotifyMode::Off) => Some(crate::store::NotifyMode::Off),
                Ok(NotifyMode::Mentions) => Some(crate::store::NotifyMode::Mentions),
                Err(_) => {
                    return Err(ApiError::Invalid(format!("unknown notify mode {n}")).into());
                }
            }),
        };
        let change = crate::store::PrefsChange {
            alias: r.alias,
            muted: r.muted,
            blocked: r.blocked,
            notify,
        };
        ok(self
            .daemon
            .set_contact_prefs(r.account.as_ref(), &r.user, change)
            .await?)
    }

    async fn delete_conversation(&self, r: Rpc<UserRef>) -> Result<DeleteConversationReply> {
        let r = r.into_inner();
        let messages_deleted = self
            .daemon
            .delete_conversation(r.account.as_ref(), &r.user)
            .await?;
        ok(DeleteConversationReply { messages_deleted })
    }

    async fn get_settings(&self, _: Rpc<Empty>) -> Result<SettingList> {
        ok(settings_view(&self.daemon))
    }

    async fn set_setting(&self, r: Rpc<SetSettingRequest>) -> Result<SettingList> {
        let r = r.into_inner();
        let value = (!r.reset).then_some(r.value.as_str());
        self.daemon.change_setting(&r.name, value).await?;
        ok(settings_view(&self.daemon))
    }

    async fn report_focus(&self, r: Rpc<tonic::Streaming<FocusReport>>) -> Result<Empty> {
        let mut reports = r.into_inner();
        let entry = self.daemon.notify.focus.entry();
        // The focus lasts as long as the stream: a frontend that goes away loses it.
        while let Ok(Some(report)) = reports.message().await {
            let focused = if report.peer.is_empty() {
                None
            } else {
                match self.daemon.resolve_account(report.account.as_ref()).await {
                    Ok((server, account)) => Some((server.name, account.username, report.peer)),
                    Err(_) => None,
                }
            };
            entry.set(focused);
        }
        ok(Empty {})
    }

    type SubscribeStream =
        Pin<Box<dyn Stream<Item = std::result::Result<Event, Status>> + Send + 'static>>;

    async fn subscribe(&self, r: Rpc<SubscribeRequest>) -> Result<Self::SubscribeStream> {
        let rx = self.daemon.events.subscribe(r.get_ref().since);
        let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
        // Streams end when the daemon stops, so open subscriptions never hold up shutdown.
        let stream =
            futures::StreamExt::take_until(stream, self.daemon.shutdown.clone().cancelled_owned());
        let stream = futures::StreamExt::map(stream, Ok);
        ok(Box::pin(stream) as Self::SubscribeStream)
    }
}
