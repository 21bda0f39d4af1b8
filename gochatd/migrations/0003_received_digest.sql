-- What identifies a received message on the wire: SHA-256 over the sender's name, a zero
-- byte and the ciphertext. RSA-OAEP ciphertexts are randomised, so the same pair twice is
-- the same message delivered twice (a server killed during a catch-up sends again what it
-- had not deleted yet). NULL for outgoing and imported messages.
ALTER TABLE messages ADD COLUMN digest BLOB NULL;
CREATE UNIQUE INDEX messages_received_digest ON messages (account_id, digest)
    WHERE digest IS NOT NULL;
