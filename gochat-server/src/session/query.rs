//! REQ (a user's key and permission) and USRS (user lists).

use bytes::Bytes;
use gochat_proto::wire::{
    ErrorCode, MAX_ARG_LEN, MAX_ARGS, MAX_PAYLOAD, PublicKey, Response, UserList,
};

use super::Session;
use crate::metrics::Metrics;

impl Session {
    pub(super) async fn request_key(&self, id: u16, username: &Bytes) {
        let record = match self.deps.store.user(username).await {
            Ok(Some(r)) => r,
            Ok(None) => return self.err(id, ErrorCode::NotFound).await,
            Err(e) => {
                tracing::error!(error = %crate::error_chain::Chain(&e), "user lookup failed");
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

    /// USRS: the list is built as rows stream in and the reading stops as soon as the reply
    /// is full, so even a huge users table costs at most one reply's worth of rows.
    pub(super) async fn list_users(&self, id: u16, kind: UserList) {
        let mut packer = UserListPacker::new(kind.with_perms());
        if kind.online_only() {
            let mut online: Vec<(Bytes, u8)> = self
                .deps
                .hub
                .online_users()
                .iter()
                .map(|u| (u.name.clone(), u.permission().code()))
                .collect();
            let elsewhere = self.deps.cluster.users_elsewhere();
            if !elsewhere.is_empty() {
                online.extend(elsewhere);
                online.sort_by(|a, b| a.0.cmp(&b.0));
                online.dedup_by(|a, b| a.0 == b.0);
            }
            for (name, level) in &online {
                if !packer.push(name, *level) {
                    break;
                }
            }
        } else {
            // Pages that grow fourfold: a short list costs one small query, and even a list
            // of one-byte names needs only a few before the reply is full.
            let mut after = 0;
            let mut page = FIRST_PAGE_ROWS;
            loop {
                let mut rows = 0u32;
                let from = after;
                let visit = &mut |row_id: i64, name: &[u8], level: u8| {
                    rows += 1;
                    after = row_id;
                    packer.push(name, level)
                };
                if let Err(e) = self.deps.store.visit_users(from, page, visit).await {
                    tracing::error!(error = %crate::error_chain::Chain(&e), "listing users failed");
                    return self.err(id, ErrorCode::Server).await;
                }
                if rows < page || packer.overflowed() {
                    break;
                }
                page = page.saturating_mul(4).min(MAX_LISTED_ROWS);
            }
        }
        if packer.overflowed() {
            Metrics::inc(&self.deps.metrics.user_lists_too_long);
            return self.err(id, ErrorCode::Packet).await;
        }
        let Some(args) = packer.finish() else {
            return self.err(id, ErrorCode::Empty).await;
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

/// Most user rows read by one page of a USRS reply: one more than the most entries that can
/// fit in a reply (one-byte names without levels take 2 bytes each).
const MAX_LISTED_ROWS: u32 = (MAX_PAYLOAD / 2 + 1) as u32;

/// Rows in the first page of a USRS reply.
const FIRST_PAGE_ROWS: u32 = 256;

/// Builds a user-list reply entry by entry: entries joined by `\n`, each argument at most
/// 2045 bytes, at most 15 arguments and 16383 bytes of payload. Old clients read the first
/// argument; lists that do not fit in one are continued in further arguments.
#[derive(Debug)]
pub struct UserListPacker {
    with_perms: bool,
    args: Vec<Bytes>,
    current: Vec<u8>,
    /// Payload bytes of the finished arguments (each with its CRLF).
    payload: usize,
    entries: usize,
    overflowed: bool,
}

impl UserListPacker {
    /// An empty list; `with_perms` appends ` <level>` to each name.
    pub fn new(with_perms: bool) -> Self {
        UserListPacker {
            with_perms,
            args: Vec::new(),
            current: Vec::new(),
            payload: 0,
            entries: 0,
            overflowed: false,
        }
    }

    /// Adds an entry; `false` (and nothing added, ever again) once it does not fit.
    pub fn push(&mut self, name: &[u8], level: u8) -> bool {
        if self.overflowed {
            return false;
        }
        let mut entry = name.to_vec();
        if self.with_perms {
            entry.push(b' ');
            entry.extend_from_slice(level.to_string().as_bytes());
        }
        let extra = usize::from(!self.current.is_empty()) + entry.len();
        let new_arg = self.current.len() + extra > MAX_ARG_LEN;
        let (args, payload, current) = if new_arg {
            (
                self.args.len() + 2,
                self.payload + self.current.len() + 2 + entry.len() + 2,
                entry.len(),
            )
        } else {
            (
                self.args.len() + 1,
                self.payload + self.current.len() + extra + 2,
                self.current.len() + extra,
            )
        };
        if args > MAX_ARGS || payload > MAX_PAYLOAD || current > MAX_ARG_LEN {
            self.overflowed = true;
            return false;
        }
        if new_arg {
            self.payload += self.current.len() + 2;
            self.args
                .push(Bytes::from(std::mem::take(&mut self.current)));
        }
        if !self.current.is_empty() {
            self.current.push(b'\n');
        }
        self.current.extend_from_slice(&entry);
        self.entries += 1;
        true
    }

    /// Whether an entry did not fit.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// The reply's arguments; `None` for an empty list.
    pub fn finish(mut self) -> Option<Vec<Bytes>> {
        if self.entries == 0 {
            return None;
        }
        self.args.push(Bytes::from(self.current));
        Some(self.args)
    }
}

/// Packs a whole user list (see [`UserListPacker`]); `None` if it does not fit in one reply.
#[cfg(test)]
fn pack_user_list(entries: &[(Bytes, u8)], with_perms: bool) -> Option<Vec<Bytes>> {
    let mut packer = UserListPacker::new(with_perms);
    for (name, level) in entries {
        if !packer.push(name, *level) {
            return None;
        }
    }
    Some(packer.finish().unwrap_or_else(|| vec![Bytes::new()]))
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

    #[test]
    fn the_largest_reply_still_encodes() {
        // Fill to the brim with names of every length; the packet must always be valid.
        for len in 1..=32 {
            let name = vec![b'a'; len];
            let mut packer = UserListPacker::new(true);
            while packer.push(&name, 2) {}
            assert!(packer.overflowed());
            let args = packer.finish().expect("entries");
            let mut packet = Response::Users { list: Bytes::new() }.to_packet(1);
            packet.args = args;
            assert!(packet.to_bytes().is_ok(), "name length {len}");
        }
    }

    #[test]
    fn one_byte_names_hit_the_row_cap_exactly() {
        let mut packer = UserListPacker::new(false);
        let mut n = 0u32;
        while packer.push(b"a", 0) {
            n += 1;
        }
        assert!(
            n < MAX_LISTED_ROWS,
            "{n} entries fit; the row cap must exceed that"
        );
    }
}
