-- Why a message failed, for programs: the reason's name (see gochatd `Reason::name`) and,
-- for a refusal, the server's error code. `error` keeps the text for humans. Messages that
-- failed before this migration have neither.
ALTER TABLE messages ADD COLUMN failure_reason TEXT NULL;
ALTER TABLE messages ADD COLUMN failure_code INTEGER NULL CHECK (failure_code BETWEEN 0 AND 255);
