//! The import report as the operator reads it: one line per Go user, messages per recipient,
//! every skipped message with its reason, and the totals.

use std::collections::BTreeMap;
use std::fmt;

use super::plan::{Report, SkipReason, UserOutcome, display_name};

/// Skipped messages listed one by one per reason; the rest are only counted.
const LISTED_PER_REASON: usize = 20;

/// Totals of the user outcomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserTotals {
    /// Created live.
    pub registered: usize,
    /// Created deregistered, as in Go.
    pub deregistered: usize,
    /// Created deregistered because they cannot be live here.
    pub reserved: usize,
    /// Already in the target.
    pub present: usize,
    /// Different account in the target under the same name.
    pub conflicts: usize,
    /// Not storable.
    pub skipped: usize,
}

impl Report {
    /// Totals of the user outcomes.
    pub fn user_totals(&self) -> UserTotals {
        let mut t = UserTotals::default();
        for (_, outcome) in &self.users {
            match outcome {
                UserOutcome::Registered(_) => t.registered += 1,
                UserOutcome::Deregistered => t.deregistered += 1,
                UserOutcome::Reserved(_) => t.reserved += 1,
                UserOutcome::Present => t.present += 1,
                UserOutcome::Conflict(_) => t.conflicts += 1,
                UserOutcome::Skipped(_) => t.skipped += 1,
            }
        }
        t
    }

    /// Messages imported (or, in a dry run, to import).
    pub fn messages_imported(&self) -> usize {
        self.per_recipient.values().sum()
    }

    /// Whether the import wrote (or would write) nothing.
    pub fn is_noop(&self) -> bool {
        let t = self.user_totals();
        t.registered + t.deregistered + t.reserved == 0 && self.messages_imported() == 0
    }

    /// Skipped messages per reason.
    pub fn skipped_by_reason(&self) -> BTreeMap<SkipReason, usize> {
        let mut by = BTreeMap::new();
        for s in &self.skipped {
            *by.entry(s.reason).or_insert(0) += 1;
        }
        by
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let will = if self.dry_run { "would be " } else { "" };
        writeln!(f, "users ({} in the Go database):", self.users.len())?;
        for (name, outcome) in &self.users {
            let name = display_name(name);
            match outcome {
                UserOutcome::Registered(p) => writeln!(f, "  {name}: {will}imported ({p})")?,
                UserOutcome::Deregistered => writeln!(
                    f,
                    "  {name}: {will}imported deregistered (the name stays reserved)"
                )?,
                UserOutcome::Reserved(why) => writeln!(
                    f,
                    "  warning: {name}: {will}imported deregistered (name reserved) because {why}"
                )?,
                UserOutcome::Present => writeln!(f, "  {name}: already in the target")?,
                UserOutcome::Conflict(why) => writeln!(
                    f,
                    "  warning: {name}: not imported, nor its messages: {why}"
                )?,
                UserOutcome::Skipped(why) => writeln!(
                    f,
                    "  warning: {name}: not imported, nor its messages: {why}"
                )?,
            }
        }
        for w in &self.warnings {
            writeln!(f, "  warning: {w}")?;
        }
        writeln!(f, "messages ({} in the Go database):", self.messages_read)?;
        for (recipient, n) in &self.per_recipient {
            writeln!(f, "  for {}: {n} {will}imported", display_name(recipient))?;
        }
        let mut listed: BTreeMap<SkipReason, usize> = BTreeMap::new();
        for s in &self.skipped {
            let seen = listed.entry(s.reason).or_insert(0);
            *seen += 1;
            if *seen > LISTED_PER_REASON {
                continue;
            }
            let stamp = s.stamp.map_or_else(|| "?".to_owned(), |t| t.to_string());
            writeln!(
                f,
                "  warning: skipped row {} (src_user {} -> dst_user {}, stamp {stamp}): {}",
                s.row + 1,
                s.src,
                s.dst,
                s.reason.describe()
            )?;
        }
        for (reason, n) in self.skipped_by_reason() {
            if n > LISTED_PER_REASON {
                writeln!(
                    f,
                    "  warning: … and {} more skipped because the {}",
                    n - LISTED_PER_REASON,
                    reason.describe()
                )?;
            }
        }
        let t = self.user_totals();
        writeln!(
            f,
            "summary: users {} registered, {} deregistered, {} reserved, {} already present, \
             {} conflicting, {} skipped; messages {} {will}imported, {} already imported, {} skipped",
            t.registered,
            t.deregistered,
            t.reserved,
            t.present,
            t.conflicts,
            t.skipped,
            self.messages_imported(),
            self.already_imported,
            self.skipped.len()
        )?;
        if self.is_noop() {
            write!(
                f,
                "nothing to import: the target already holds everything it can take"
            )
        } else if self.dry_run {
            write!(f, "dry run: nothing was written")
        } else {
            write!(f, "import committed (one transaction)")
        }
    }
}
