//! Decides what an import writes, from the Go snapshot and the target's current state. Pure
//! logic: every rule about odd source rows lives here and is tested without a database.
//!
//! Rules (docs/OPERATIONS.md, "Moving from the Go server"):
//! - every Go user row becomes a user row, in `user_id` order. A row that cannot be a live
//!   account here (a name Go shadowed under its collation, a key that cannot be parsed or is
//!   too small, a key already held by an earlier user) is created **deregistered**: its name
//!   stays reserved as it was in Go, messages it sent are still delivered, messages to it are
//!   skipped. A name our schema cannot hold (empty, over 32 bytes) is skipped with its messages;
//! - an invalid permission becomes USER;
//! - a message is imported when both users exist and the recipient is live; otherwise it is
//!   skipped with a reason. Messages keep Go's delivery order: stamp, then table order;
//! - a user already in the target as the same account (same name and key, or both
//!   deregistered) is reused; a different account under that name is a conflict, and neither
//!   the Go user nor its messages are imported;
//! - messages imported before (by digest) are never written again.

use std::collections::{BTreeMap, HashMap, HashSet};

use gochat_proto::crypto::EncryptingKey;
use gochat_proto::wire::{MAX_ARG_LEN, MAX_USERNAME_LEN, Permission, PublicKey};
use sha2::{Digest, Sha256};

use super::source::{GoMessage, GoSnapshot, GoUser};
use crate::store::{ImportBatch, ImportMessage, ImportUser, MessageDigest, UserRecord};

/// The target store as it is before the import.
#[derive(Debug, Clone, Default)]
pub struct TargetState {
    /// Every user row, deregistered ones included.
    pub users: Vec<UserRecord>,
    /// Digests of Go messages imported before.
    pub imported: HashSet<MessageDigest>,
}

/// Why an import is refused before anything is written.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The target holds accounts that did not come from this Go database.
    #[error(
        "the target store is not empty: {0}; pass --merge to import into it anyway \
         (same accounts are reused, other names are added, conflicting names are skipped)"
    )]
    TargetNotEmpty(String),
}

/// What became of one Go user row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserOutcome {
    /// Created with its key and permission.
    Registered(Permission),
    /// Created deregistered, as it was in Go.
    Deregistered,
    /// Created deregistered (name reserved) because it cannot be a live account here.
    Reserved(String),
    /// Already in the target as the same account.
    Present,
    /// The target has another account under this name: neither it nor its messages imported.
    Conflict(String),
    /// Cannot be stored at all; its messages are skipped too.
    Skipped(String),
}

/// Why a Go message was not imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SkipReason {
    /// `src_user` names no user row.
    SenderMissing,
    /// `dst_user` names no user row.
    RecipientMissing,
    /// Sender and recipient are the same row.
    ToSelf,
    /// `stamp` is not a valid date.
    BadStamp,
    /// `message` is not valid hex (Go's server exits when it tries to deliver it).
    BadHex,
    /// The ciphertext does not fit one protocol argument.
    TooLong,
    /// The sender was not imported (skipped or conflicting name).
    SenderNotImported,
    /// The recipient is not a live account here (deregistered, reserved, skipped or
    /// conflicting); Go never delivered messages to a deregistered user either.
    RecipientNotLive,
}

impl SkipReason {
    /// A short explanation for the report.
    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::SenderMissing => "sender row is gone",
            SkipReason::RecipientMissing => "recipient row is gone",
            SkipReason::ToSelf => "sender is the recipient",
            SkipReason::BadStamp => "stamp is not a valid date",
            SkipReason::BadHex => "ciphertext is not valid hex",
            SkipReason::TooLong => "ciphertext is longer than 2045 bytes",
            SkipReason::SenderNotImported => "sender was not imported",
            SkipReason::RecipientNotLive => "recipient is not a live account",
        }
    }
}

/// One Go message that was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedMessage {
    /// Row in the Go table (0-based, table order).
    pub row: usize,
    /// `src_user`.
    pub src: u64,
    /// `dst_user`.
    pub dst: u64,
    /// Unix seconds, when valid.
    pub stamp: Option<i64>,
    /// Why.
    pub reason: SkipReason,
}

/// What an import did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Every Go user row, in `user_id` order, with what became of it.
    pub users: Vec<(Vec<u8>, UserOutcome)>,
    /// Messages imported per recipient name.
    pub per_recipient: BTreeMap<Vec<u8>, usize>,
    /// Go messages in the source.
    pub messages_read: usize,
    /// Messages found imported by an earlier run.
    pub already_imported: usize,
    /// Messages not imported, in table order.
    pub skipped: Vec<SkippedMessage>,
    /// Other things the operator should know (per user).
    pub warnings: Vec<String>,
    /// Whether this was a dry run.
    pub dry_run: bool,
}

/// The writes and the report.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// What to write.
    pub batch: ImportBatch,
    /// What to tell the operator.
    pub report: Report,
}

/// A PEM key and its fingerprint.
type KeyWithFingerprint = (Vec<u8>, [u8; 32]);

/// An importable message's parts.
struct CheckedMessage<'a> {
    sender: &'a [u8],
    recipient: &'a [u8],
    stamp: i64,
    ciphertext: Vec<u8>,
}

/// How a Go user id resolves for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Presence {
    /// A live account in the target after the import.
    Live,
    /// A deregistered row in the target after the import (can send, cannot receive).
    Deregistered,
    /// Not in the target.
    Absent,
}

/// A name for messages and warnings (lossy UTF-8, control characters escaped).
pub fn display_name(name: &[u8]) -> String {
    String::from_utf8_lossy(name).escape_debug().to_string()
}

/// A usable key: fingerprint, or why not.
fn usable_key(pem: &[u8]) -> Result<[u8; 32], &'static str> {
    let key = PublicKey::parse(pem).map_err(|_| "its public key cannot be parsed")?;
    EncryptingKey::new(&key).map_err(|_| "its public key is too small for a login challenge")?;
    Ok(key.fingerprint())
}

/// The fingerprint of a stored target key, if it parses.
fn target_fingerprint(user: &UserRecord) -> Option<[u8; 32]> {
    user.public_key
        .as_deref()
        .and_then(|pem| PublicKey::parse(pem).ok())
        .map(|k| k.fingerprint())
}

/// Builds the plan. Fails only when the target holds other accounts and `merge` is off.
pub fn plan(go: &GoSnapshot, target: &TargetState, merge: bool) -> Result<Plan, PlanError> {
    let mut users = go.users.clone();
    users.sort_by_key(|u| u.id);
    let target_by_name: HashMap<&[u8], &UserRecord> = target
        .users
        .iter()
        .map(|u| (u.username.as_slice(), u))
        .collect();
    let target_keys: HashMap<[u8; 32], &[u8]> = target
        .users
        .iter()
        .filter_map(|u| Some((target_fingerprint(u)?, u.username.as_slice())))
        .collect();

    let mut plan = Plan::default();
    let mut same_in_target: HashSet<&[u8]> = HashSet::new();
    let mut earlier_keys: HashMap<[u8; 32], Vec<u8>> = HashMap::new();
    let mut presence: HashMap<u64, (Vec<u8>, Presence)> = HashMap::new();
    let collation = go.username_collation.as_deref().unwrap_or("unknown");

    for user in &users {
        let name = display_name(&user.username);
        let (outcome, state) = decide_user(
            user,
            &name,
            collation,
            &target_by_name,
            &target_keys,
            &mut earlier_keys,
            &mut plan,
        );
        if outcome == UserOutcome::Present {
            same_in_target.insert(user.username.as_slice());
        }
        presence.insert(user.id, (user.username.clone(), state));
        plan.report.users.push((user.username.clone(), outcome));
    }

    let foreign: Vec<String> = target
        .users
        .iter()
        .filter(|u| !same_in_target.contains(u.username.as_slice()))
        .map(|u| display_name(&u.username))
        .collect();
    if !merge && !foreign.is_empty() {
        let shown: Vec<&str> = foreign.iter().take(10).map(String::as_str).collect();
        let more = foreign.len().saturating_sub(shown.len());
        let mut what = format!(
            "{} account(s) there are not the same as in this Go database ({}",
            foreign.len(),
            shown.join(", ")
        );
        if more > 0 {
            what.push_str(&format!(", and {more} more"));
        }
        what.push(')');
        return Err(PlanError::TargetNotEmpty(what));
    }

    plan_messages(&go.messages, &presence, &target.imported, &mut plan);
    Ok(plan)
}

/// Decides one Go user: its outcome, its presence for messages, and its batch row.
fn decide_user(
    user: &GoUser,
    name: &str,
    collation: &str,
    target_by_name: &HashMap<&[u8], &UserRecord>,
    target_keys: &HashMap<[u8; 32], &[u8]>,
    earlier_keys: &mut HashMap<[u8; 32], Vec<u8>>,
    plan: &mut Plan,
) -> (UserOutcome, Presence) {
    if user.username.is_empty() {
        return (
            UserOutcome::Skipped(format!("user #{}: the name is empty", user.id)),
            Presence::Absent,
        );
    }
    if user.username.len() > MAX_USERNAME_LEN {
        return (
            UserOutcome::Skipped(format!(
                "the name is {} bytes, more than {MAX_USERNAME_LEN}",
                user.username.len()
            )),
            Presence::Absent,
        );
    }
    let permission = u8::try_from(user.permission)
        .ok()
        .and_then(Permission::from_code)
        .unwrap_or_else(|| {
            plan.report.warnings.push(format!(
                "{name}: permission {} is not 0, 1 or 2 (Go refused its logins); imported as USER",
                user.permission
            ));
            Permission::User
        });

    // What the account is on the Go server: a key, deregistered, or not usable as live.
    let key: Result<Option<KeyWithFingerprint>, String> = if user.first_id_with_name != user.id {
        Err(format!(
            "its name equals user #{}'s under the source collation {collation}, and Go only \
             ever found #{}",
            user.first_id_with_name, user.first_id_with_name
        ))
    } else {
        match &user.pubkey {
            None => Ok(None),
            Some(pem) => match usable_key(pem) {
                Err(why) => Err(why.to_owned()),
                Ok(fp) => match earlier_keys.get(&fp) {
                    Some(other) => Err(format!(
                        "its public key is already registered by {}",
                        display_name(other)
                    )),
                    None => {
                        earlier_keys.insert(fp, user.username.clone());
                        Ok(Some((pem.clone(), fp)))
                    }
                },
            },
        }
    };

    if let Some(existing) = target_by_name.get(user.username.as_slice()) {
        let wanted_fp = key
            .as_ref()
            .ok()
            .and_then(|k| k.as_ref().map(|(_, fp)| *fp));
        let same = match (wanted_fp, &existing.public_key) {
            (None, None) => true,
            (Some(fp), Some(_)) => target_fingerprint(existing) == Some(fp),
            _ => false,
        };
        if !same {
            return (
                UserOutcome::Conflict(
                    "the target has a different account under this name".to_owned(),
                ),
                Presence::Absent,
            );
        }
        if existing.permission != permission.code() && wanted_fp.is_some() {
            plan.report.warnings.push(format!(
                "{name}: already in the target with permission {}; kept it (Go had {permission})",
                existing.permission
            ));
        }
        let presence = if wanted_fp.is_some() {
            Presence::Live
        } else {
            Presence::Deregistered
        };
        return (UserOutcome::Present, presence);
    }

    let (key, outcome) = match key {
        Ok(Some((pem, fp))) => match target_keys.get(&fp) {
            Some(holder) => (
                None,
                UserOutcome::Reserved(format!(
                    "its public key already belongs to {} in the target",
                    display_name(holder)
                )),
            ),
            None => {
                if !crate::session::auth::valid_username(&user.username) {
                    plan.report.warnings.push(format!(
                        "{name}: the name is not made of [0-9a-z]; imported as it is (it can \
                         log in, but could not be registered anew)"
                    ));
                }
                (Some((pem, fp)), UserOutcome::Registered(permission))
            }
        },
        Ok(None) => (None, UserOutcome::Deregistered),
        Err(why) => (None, UserOutcome::Reserved(why)),
    };
    let presence = if key.is_some() {
        Presence::Live
    } else {
        Presence::Deregistered
    };
    plan.batch.users.push(ImportUser {
        username: user.username.clone(),
        key,
        permission,
    });
    (outcome, presence)
}

/// Checks, orders and digests the messages.
fn plan_messages(
    messages: &[GoMessage],
    presence: &HashMap<u64, (Vec<u8>, Presence)>,
    imported: &HashSet<MessageDigest>,
    plan: &mut Plan,
) {
    plan.report.messages_read = messages.len();
    let mut occurrences: HashMap<MessageDigest, u64> = HashMap::new();
    let mut accepted: Vec<(i64, usize, ImportMessage)> = Vec::new();
    for m in messages {
        let skip = |reason| SkippedMessage {
            row: m.row,
            src: m.src,
            dst: m.dst,
            stamp: m.stamp,
            reason,
        };
        let checked = check_message(m, presence);
        let CheckedMessage {
            sender,
            recipient,
            stamp,
            ciphertext,
        } = match checked {
            Ok(v) => v,
            Err(reason) => {
                plan.report.skipped.push(skip(reason));
                continue;
            }
        };
        // Identical rows (a resent ciphertext) are told apart by how many came before.
        let content = message_digest(sender, recipient, stamp, &ciphertext, 0);
        let occurrence = occurrences.entry(content).or_insert(0);
        let digest = message_digest(sender, recipient, stamp, &ciphertext, *occurrence);
        *occurrence += 1;
        if imported.contains(&digest) {
            plan.report.already_imported += 1;
            continue;
        }
        accepted.push((
            stamp,
            m.row,
            ImportMessage {
                sender: sender.to_vec(),
                recipient: recipient.to_vec(),
                stamp,
                ciphertext,
                digest,
            },
        ));
    }
    // Go delivers by stamp; ties keep the table order.
    accepted.sort_by_key(|(stamp, row, _)| (*stamp, *row));
    for (_, _, message) in accepted {
        *plan
            .report
            .per_recipient
            .entry(message.recipient.clone())
            .or_insert(0) += 1;
        plan.batch.messages.push(message);
    }
}

/// Sender, recipient, stamp and ciphertext of an importable message, or why it is not.
fn check_message<'a>(
    m: &GoMessage,
    presence: &'a HashMap<u64, (Vec<u8>, Presence)>,
) -> Result<CheckedMessage<'a>, SkipReason> {
    let (sender, sender_state) = presence.get(&m.src).ok_or(SkipReason::SenderMissing)?;
    let (recipient, recipient_state) = presence.get(&m.dst).ok_or(SkipReason::RecipientMissing)?;
    if m.src == m.dst {
        return Err(SkipReason::ToSelf);
    }
    let stamp = m.stamp.ok_or(SkipReason::BadStamp)?;
    // Go's hex.DecodeString takes either case, so this does too.
    let ciphertext = hex::decode(&m.hex).map_err(|_| SkipReason::BadHex)?;
    if ciphertext.len() > MAX_ARG_LEN {
        return Err(SkipReason::TooLong);
    }
    if *sender_state == Presence::Absent {
        return Err(SkipReason::SenderNotImported);
    }
    if *recipient_state != Presence::Live {
        return Err(SkipReason::RecipientNotLive);
    }
    Ok(CheckedMessage {
        sender,
        recipient,
        stamp,
        ciphertext,
    })
}

/// The identity of a Go message: names, stamp, ciphertext and its occurrence among identical
/// rows, length-prefixed so no two inputs hash the same text.
fn message_digest(
    sender: &[u8],
    recipient: &[u8],
    stamp: i64,
    ciphertext: &[u8],
    occurrence: u64,
) -> MessageDigest {
    let mut h = Sha256::new();
    h.update(b"gochat import-go message v1\0");
    for part in [sender, recipient, ciphertext] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.update(stamp.to_be_bytes());
    h.update(occurrence.to_be_bytes());
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2048-bit public key of the test vectors, as PEM.
    fn pem(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/../proto/tests/vectors/keys/{name}.pub.reg.pem",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(path).expect("vector key")
    }

    fn user(id: u64, name: &str, key: Option<Vec<u8>>) -> GoUser {
        GoUser {
            id,
            username: name.as_bytes().to_vec(),
            pubkey: key,
            permission: 0,
            first_id_with_name: id,
        }
    }

    fn message(row: usize, src: u64, dst: u64, text: &[u8], stamp: i64) -> GoMessage {
        GoMessage {
            row,
            src,
            dst,
            hex: hex::encode(text).into_bytes(),
            stamp: Some(stamp),
        }
    }

    fn snapshot() -> GoSnapshot {
        GoSnapshot {
            users: vec![
                user(1, "alice", Some(pem("alice"))),
                user(2, "bob", Some(pem("bob"))),
            ],
            messages: vec![message(0, 1, 2, b"same", 10), message(1, 1, 2, b"same", 10)],
            username_collation: Some("utf8mb4_general_ci".into()),
        }
    }

    #[test]
    fn identical_rows_are_two_messages_with_distinct_digests() {
        let plan = plan(&snapshot(), &TargetState::default(), false).expect("plan");
        assert_eq!(plan.batch.messages.len(), 2);
        assert_ne!(plan.batch.messages[0].digest, plan.batch.messages[1].digest);
        // After importing one of them, only the other is left.
        let target = TargetState {
            users: Vec::new(),
            imported: HashSet::from([plan.batch.messages[0].digest]),
        };
        let again = super::plan(&snapshot(), &target, false).expect("plan");
        assert_eq!(again.batch.messages.len(), 1);
        assert_eq!(again.report.already_imported, 1);
    }

    #[test]
    fn a_key_held_by_another_target_account_reserves_the_name() {
        let alice_key = PublicKey::parse(&pem("alice")).expect("key");
        let target = TargetState {
            users: vec![UserRecord {
                id: 7,
                username: b"zed".to_vec(),
                public_key: Some(alice_key.to_pem().into_bytes()),
                permission: 0,
            }],
            imported: HashSet::new(),
        };
        assert!(matches!(
            super::plan(&snapshot(), &target, false),
            Err(PlanError::TargetNotEmpty(_))
        ));
        let plan = super::plan(&snapshot(), &target, true).expect("merge");
        assert!(matches!(plan.report.users[0].1, UserOutcome::Reserved(_)));
        assert_eq!(plan.batch.users[0].key, None);
        // alice still exists (deregistered), so her messages to bob are kept.
        assert_eq!(plan.batch.messages.len(), 2);
    }

    #[test]
    fn an_identical_target_is_not_foreign_and_keeps_its_permission() {
        let first = plan(&snapshot(), &TargetState::default(), false).expect("plan");
        let target = TargetState {
            users: first
                .batch
                .users
                .iter()
                .enumerate()
                .map(|(i, u)| UserRecord {
                    id: i as i64 + 1,
                    username: u.username.clone(),
                    public_key: u.key.as_ref().map(|(pem, _)| pem.clone()),
                    permission: if i == 1 { 1 } else { 0 },
                })
                .collect(),
            imported: first.batch.messages.iter().map(|m| m.digest).collect(),
        };
        let again = plan(&snapshot(), &target, false).expect("not refused");
        assert!(again.batch.is_empty());
        assert!(again.report.is_noop());
        assert!(
            again.report.warnings[0].contains("kept it"),
            "{:?}",
            again.report.warnings
        );
    }

    #[test]
    fn an_odd_name_is_imported_as_it_is_with_a_warning() {
        let mut go = snapshot();
        go.users[1].username = b"Bob".to_vec();
        let plan = plan(&go, &TargetState::default(), false).expect("plan");
        assert_eq!(plan.batch.users[1].username, b"Bob");
        assert!(plan.batch.users[1].key.is_some());
        assert!(
            plan.report.warnings[0].contains("Bob"),
            "{:?}",
            plan.report.warnings
        );
    }

    #[test]
    fn odd_values_never_panic() {
        let mut go = snapshot();
        go.users[0].permission = -1;
        go.users
            .push(user(3, "nokey", Some(b"\xff\x00garbage".to_vec())));
        go.messages.push(GoMessage {
            row: 2,
            src: 2,
            dst: 1,
            hex: b"\xff\xfe".to_vec(),
            stamp: None,
        });
        go.messages.push(GoMessage {
            row: 3,
            src: 2,
            dst: 1,
            hex: "ab".repeat(MAX_ARG_LEN + 1).into_bytes(),
            stamp: Some(i64::MIN),
        });
        let plan = plan(&go, &TargetState::default(), false).expect("plan");
        assert_eq!(plan.batch.users[0].permission, Permission::User);
        assert!(matches!(plan.report.users[2].1, UserOutcome::Reserved(_)));
        let reasons: Vec<SkipReason> = plan.report.skipped.iter().map(|s| s.reason).collect();
        assert_eq!(reasons, [SkipReason::BadStamp, SkipReason::TooLong]);
        assert!(!plan.report.to_string().is_empty());
    }
}
