-- The change log: what other instances may have cached and must forget.
-- Each writing transaction bumps the one-row epoch (its write lock orders the
-- writers, so epochs commit in order) and logs its change under that epoch.
-- Readers read the epoch (one primary-key row) and the log only when it moved.
CREATE TABLE ims_change_epoch (
    id    INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    epoch INTEGER NOT NULL
);
INSERT INTO ims_change_epoch (id, epoch) VALUES (1, 0);

CREATE TABLE ims_change_log (
    epoch         INTEGER NOT NULL PRIMARY KEY,
    kind          TEXT    NOT NULL,
    admin_user_id INTEGER NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX ims_change_log_created_at ON ims_change_log (created_at);
