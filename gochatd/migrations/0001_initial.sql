-- gochatd local store, initial schema.
--
-- Every table is STRICT; booleans are INTEGER 0/1. Foreign keys cascade so removing a server
-- removes its accounts, and removing an account removes its contacts and messages (and, by
-- the triggers below, their full-text index entries).
-- AUTOINCREMENT on messages and events keeps ids monotonic and never reused: frontends hold
-- message ids (paging cursors, events) and event ids (resume points) across deletions.

CREATE TABLE servers (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    host       TEXT    NOT NULL,
    port       INTEGER NOT NULL CHECK (port BETWEEN 0 AND 65535),
    tls        INTEGER NOT NULL CHECK (tls IN (0, 1)),
    verify     INTEGER NOT NULL CHECK (verify IN (0, 1)),
    ca_file    TEXT    NULL,
    is_default INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1))
) STRICT;

-- At most one default server.
CREATE UNIQUE INDEX servers_one_default ON servers (is_default) WHERE is_default = 1;

CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY,
    server_id     INTEGER NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    username      TEXT    NOT NULL,
    -- The private key: PKCS#1 DER, or its passphrase-encrypted envelope when key_encrypted.
    key_blob      BLOB    NOT NULL,
    key_encrypted INTEGER NOT NULL CHECK (key_encrypted IN (0, 1)),
    public_pem    TEXT    NOT NULL,
    fingerprint   TEXT    NOT NULL,
    auto_login    INTEGER NOT NULL CHECK (auto_login IN (0, 1)),
    permission    INTEGER NOT NULL DEFAULT 0 CHECK (permission BETWEEN 0 AND 255),
    UNIQUE (server_id, username)
) STRICT;

-- Other users' keys, pinned on first use. A key the server reports that differs from the
-- pinned one waits in pending_* until the user accepts it.
CREATE TABLE contacts (
    account_id          INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user                TEXT    NOT NULL,
    public_pem          TEXT    NULL,
    fingerprint         TEXT    NULL,
    pending_pem         TEXT    NULL,
    pending_fingerprint TEXT    NULL,
    permission          INTEGER NOT NULL DEFAULT 0 CHECK (permission BETWEEN 0 AND 255),
    PRIMARY KEY (account_id, user)
) STRICT;

-- Messages in both directions. state: 1 queued, 2 sent, 3 failed, 4 received.
CREATE TABLE messages (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    peer          TEXT    NOT NULL,
    outgoing      INTEGER NOT NULL CHECK (outgoing IN (0, 1)),
    text          TEXT    NOT NULL,
    stamp         INTEGER NOT NULL,
    state         INTEGER NOT NULL CHECK (state BETWEEN 1 AND 4),
    error         TEXT    NULL,
    read          INTEGER NOT NULL CHECK (read IN (0, 1)),
    local_time_ms INTEGER NOT NULL
) STRICT;

-- History pages and per-peer conversation summaries.
CREATE INDEX messages_peer ON messages (account_id, peer, id);
-- The outbox.
CREATE INDEX messages_queued ON messages (account_id, id) WHERE outgoing = 1 AND state = 1;
-- Unread counts and mark-read.
CREATE INDEX messages_unread ON messages (account_id, peer, id) WHERE outgoing = 0 AND read = 0;

-- Full-text index over message text (external content: the text lives only in messages).
-- Kept in sync by triggers, so it changes in the same transaction as the rows, including
-- cascaded deletes.
CREATE VIRTUAL TABLE messages_fts USING fts5 (
    text,
    content = 'messages',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;

CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
END;

-- The numbered event log behind Subscribe(since). payload is an encoded daemon.v1.Event.
CREATE TABLE events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    payload BLOB    NOT NULL
) STRICT;
