-- Local preferences for a contact, which the server never learns: an alias shown by the
-- frontends, mute (stored and counted, but no notification and no hook), block (dropped on
-- arrival and counted) and the notification mode ('on', 'off', 'mentions'; NULL: the
-- account's). A row exists only once a preference was set, so a contact without a key can
-- have one; it goes with its account.
CREATE TABLE contact_prefs (
    account_id    INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user          TEXT    NOT NULL,
    alias         TEXT    NULL,
    muted         INTEGER NOT NULL DEFAULT 0 CHECK (muted IN (0, 1)),
    blocked       INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1)),
    notify        TEXT    NULL CHECK (notify IN ('on', 'off', 'mentions')),
    muted_count   INTEGER NOT NULL DEFAULT 0 CHECK (muted_count >= 0),
    blocked_count INTEGER NOT NULL DEFAULT 0 CHECK (blocked_count >= 0),
    PRIMARY KEY (account_id, user)
) STRICT;

-- Notification and hook settings changed live through the API (`SetSetting`). They take
-- precedence over gochatd.toml until reset. value is TOML syntax.
CREATE TABLE settings (
    name  TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
