-- Where a contact's pinned key came from. NULL: gochatd fetched it from the server itself
-- (trust on first use). 'go-client': imported from the Go client's store, which had fetched
-- it from the server earlier (`gochat-cli import go-client`). Accepting a changed key (which
-- the server reported) sets it back to NULL.
ALTER TABLE contacts ADD COLUMN key_origin TEXT NULL;
