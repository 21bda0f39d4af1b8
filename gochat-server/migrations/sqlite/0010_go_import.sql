-- Messages imported from a Go gochat server (`gochat-server import-go`), by a digest of their
-- source row, so that running the import again never stores (or re-delivers) them twice.

CREATE TABLE go_imported_messages (
    digest      BLOB    NOT NULL PRIMARY KEY CHECK (length(digest) = 32),
    imported_at INTEGER NOT NULL DEFAULT (unixepoch())
) STRICT, WITHOUT ROWID;
