-- Per-recipient mailbox counters, kept in the same transaction as every insert and delete of
-- stored messages, so the quota check never has to count rows.
ALTER TABLE users ADD COLUMN stored_messages INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN stored_bytes INTEGER NOT NULL DEFAULT 0;

UPDATE users SET
    stored_messages = (SELECT COUNT(*) FROM messages m WHERE m.recipient_id = users.id),
    stored_bytes = (SELECT COALESCE(SUM(length(m.ciphertext)), 0) FROM messages m
                    WHERE m.recipient_id = users.id);
