-- The change log: what other instances may have cached and must forget.
-- Each writing transaction bumps the one-row epoch (its row lock orders the
-- writers, so epochs commit in order) and logs its change under that epoch.
-- Readers read the epoch (one primary-key row) and the log only when it moved.
CREATE TABLE ims_change_epoch (
    id    BIGINT NOT NULL PRIMARY KEY,
    epoch BIGINT NOT NULL,
    CONSTRAINT ims_change_epoch_one_row CHECK (id = 1)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
INSERT INTO ims_change_epoch (id, epoch) VALUES (1, 0);

CREATE TABLE ims_change_log (
    epoch         BIGINT NOT NULL PRIMARY KEY,
    kind          VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    admin_user_id BIGINT NULL,
    created_at    BIGINT NOT NULL,
    INDEX ims_change_log_created_at (created_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
