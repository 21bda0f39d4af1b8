-- gochat server schema, MariaDB/MySQL backend (InnoDB).
-- Every text-like column is binary (VARBINARY/BLOB), so usernames compare as exact bytes,
-- never case-insensitively, whatever the server's default collation.

CREATE TABLE users (
    id              BIGINT           NOT NULL AUTO_INCREMENT,
    username        VARBINARY(32)    NOT NULL,
    public_key      BLOB             NULL,
    key_fingerprint BINARY(32)       NULL,
    permission      TINYINT UNSIGNED NOT NULL DEFAULT 0,
    created_at      DATETIME         NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (id),
    UNIQUE KEY users_username (username),
    UNIQUE KEY users_key_fingerprint (key_fingerprint)
) ENGINE = InnoDB;

CREATE TABLE messages (
    id           BIGINT          NOT NULL AUTO_INCREMENT,
    sender_id    BIGINT          NOT NULL,
    recipient_id BIGINT          NOT NULL,
    stamp        BIGINT          NOT NULL,
    ciphertext   VARBINARY(2048) NOT NULL,
    PRIMARY KEY (id),
    KEY messages_recipient_id (recipient_id, id),
    KEY messages_sender (sender_id),
    CONSTRAINT messages_sender_fk FOREIGN KEY (sender_id) REFERENCES users (id),
    CONSTRAINT messages_recipient_fk FOREIGN KEY (recipient_id) REFERENCES users (id),
    CONSTRAINT messages_not_self CHECK (sender_id <> recipient_id)
) ENGINE = InnoDB;
