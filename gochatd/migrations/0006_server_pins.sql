-- Certificate pins of a server profile (issue 17): "sha256:HEX" (the certificate's DER) or
-- "spki-sha256:HEX" (its public key), one per line; empty when nothing is pinned.
ALTER TABLE servers ADD COLUMN pins TEXT NOT NULL DEFAULT '';
-- The certificate the server presented last that was refused (DER), why, and whether it
-- differed from a pin. Cleared when the user trusts a certificate.
ALTER TABLE servers ADD COLUMN rejected_cert BLOB NULL;
ALTER TABLE servers ADD COLUMN rejected_problem TEXT NULL;
ALTER TABLE servers ADD COLUMN rejected_changed INTEGER NOT NULL DEFAULT 0 CHECK (rejected_changed IN (0, 1));
