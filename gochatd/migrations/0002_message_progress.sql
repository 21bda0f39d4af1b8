-- Delivery progress of an outgoing message: how many bytes of its text the server has
-- acknowledged. A message longer than one block of the recipient's key goes out in several
-- MSG packets; after a failure the outbox resumes after the acknowledged bytes, so no piece
-- reaches the recipient twice.
ALTER TABLE messages ADD COLUMN sent_bytes INTEGER NOT NULL DEFAULT 0 CHECK (sent_bytes >= 0);
