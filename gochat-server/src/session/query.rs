//! REQ (a user's key and permission) and USRS (user lists).

use bytes::Bytes;
use gochat_proto::wire::{ErrorCode, MAX_ARG_LEN, MAX_ARGS, PublicKey, Response, UserList};

use super::Session;

impl Session {
    pub(super) async fn request_key(&self, id: u16, username: &Bytes) {
        let record = match self.shared.store.user(username).await {
            Ok(Some(r)) => r,
            Ok(None) => return self.err(id, ErrorCode::NotFound).await,
            Err(e) => {
                tracing::error!(error = %e, "user lookup failed");
                return self.err(id, ErrorCode::Server).await;
            }
        };
        let Some(pem) = record.public_key.as_deref() else {
            return self.err(id, ErrorCode::Dereg).await;
        };
        let (Some(permission), Ok(key)) = (record.permission(), PublicKey::parse(pem)) else {
            return self.err(id, ErrorCode::Corrupted).await;
        };
        self.reply(
            id,
            Response::Req {
                username: username.clone(),
                public_key: key.to_pem().into(),
                permission: permission.code(),
            },
        )
        .await;
    }

    pub(super) async fn list_users(&self, id: u16, kind: UserList) {
        let entries: Vec<(Bytes, u8)> = if kind.online_only() {
            self.shared
                .hub
                .online_users()
                .iter()
                .map(|u| (u.name.clone(), u.permission().code()))
                .collect()
        } else {
            match self.shared.store.list_users().await {
                Ok(rows) => rows.into_iter().map(|(n, p)| (Bytes::from(n), p)).collect(),
                Err(e) => {
                    tracing::error!(error = %e, "listing users failed");
                    return self.err(id, ErrorCode::Server).await;
                }
            }
        };
        if entries.is_empty() {
            return self.err(id, ErrorCode::Empty).await;
        }
        let Some(args) = pack_user_list(&entries, kind.with_perms()) else {
            return self.err(id, ErrorCode::Packet).await;
        };
        let mut packet = Response::Users { list: Bytes::new() }.to_packet(id);
        packet.args = args;
        match packet.to_bytes() {
            Ok(bytes) => {
                let _ = self.conn.send(bytes, None).await;
            }
            Err(_) => self.err(id, ErrorCode::Packet).await,
        }
    }
}

/// Packs a user list into as few arguments as possible: entries joined by `\n`, each
/// argument at most 2045 bytes. Old clients read the first argument; lists that do not fit
/// in one are continued in further arguments instead of failing. `None` if even 15
/// arguments cannot hold it.
pub fn pack_user_list(entries: &[(Bytes, u8)], with_perms: bool) -> Option<Vec<Bytes>> {
    let mut args = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    for (name, perm) in entries {
        let mut entry = name.to_vec();
        if with_perms {
            entry.push(b' ');
            entry.extend_from_slice(perm.to_string().as_bytes());
        }
        let extra = usize::from(!current.is_empty()) + entry.len();
        if current.len() + extra > MAX_ARG_LEN {
            args.push(Bytes::from(std::mem::take(&mut current)));
        }
        if !current.is_empty() {
            current.push(b'\n');
        }
        current.extend_from_slice(&entry);
    }
    args.push(Bytes::from(current));
    let payload: usize = args.iter().map(|a| a.len() + 2).sum();
    (args.len() <= MAX_ARGS && payload <= gochat_proto::wire::MAX_PAYLOAD).then_some(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_lists_fit_one_argument() {
        let entries = vec![(Bytes::from("alice"), 0), (Bytes::from("carol"), 2)];
        assert_eq!(
            pack_user_list(&entries, true),
            Some(vec![Bytes::from("alice 0\ncarol 2")])
        );
        assert_eq!(
            pack_user_list(&entries, false),
            Some(vec![Bytes::from("alice\ncarol")])
        );
    }

    #[test]
    fn long_lists_continue_in_more_arguments() {
        let entries: Vec<_> = (0..1000)
            .map(|i| (Bytes::from(format!("user{i:04}")), 0))
            .collect();
        let args = pack_user_list(&entries, false).expect("fits");
        assert!(args.len() > 1);
        assert!(args.iter().all(|a| a.len() <= MAX_ARG_LEN));
        let joined: Vec<u8> = args.join(&b'\n');
        assert_eq!(joined.split(|&b| b == b'\n').count(), 1000);
    }
}
