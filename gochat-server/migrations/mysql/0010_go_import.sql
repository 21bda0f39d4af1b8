-- Messages imported from a Go gochat server (`gochat-server import-go`), by a digest of their
-- source row, so that running the import again never stores (or re-delivers) them twice.

CREATE TABLE go_imported_messages (
    digest      BINARY(32) NOT NULL,
    imported_at DATETIME   NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (digest)
) ENGINE = InnoDB;
