-- Per-recipient mailbox counters, kept in the same transaction as every insert and delete of
-- stored messages, so the quota check never has to count rows.
ALTER TABLE users
    ADD COLUMN stored_messages BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN stored_bytes    BIGINT NOT NULL DEFAULT 0;

UPDATE users u
JOIN (SELECT recipient_id, COUNT(*) AS n, SUM(LENGTH(ciphertext)) AS b
      FROM messages GROUP BY recipient_id) m ON m.recipient_id = u.id
SET u.stored_messages = m.n, u.stored_bytes = m.b;
