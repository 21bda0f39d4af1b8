-- gochat server schema, SQLite backend.
-- Usernames and keys are BLOBs: exact-byte comparison, never case-folded.
-- AUTOINCREMENT keeps ids monotonic and never reused, so message ids are the send order
-- and a delivered id can never come back as a new message.

CREATE TABLE users (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    username        BLOB    NOT NULL UNIQUE CHECK (length(username) <= 32),
    public_key      BLOB    NULL,
    key_fingerprint BLOB    NULL UNIQUE CHECK (key_fingerprint IS NULL OR length(key_fingerprint) = 32),
    permission      INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL DEFAULT (unixepoch())
) STRICT;

CREATE TABLE messages (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    sender_id    INTEGER NOT NULL REFERENCES users (id),
    recipient_id INTEGER NOT NULL REFERENCES users (id),
    stamp        INTEGER NOT NULL,
    ciphertext   BLOB    NOT NULL,
    CHECK (sender_id <> recipient_id)
) STRICT;

CREATE INDEX messages_recipient_id ON messages (recipient_id, id);
