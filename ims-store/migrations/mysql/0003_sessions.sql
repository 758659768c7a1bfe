-- Admin sessions (tower-sessions), shared by every instance on the database.
-- Rows are keyed by the SHA-256 of the session id (hex), never the id; data is
-- the session's JSON, encrypted (nonce || AES-256-GCM ciphertext and tag);
-- weight is its stored size plus a fixed row overhead, for the budgets;
-- pending marks sign-ins in flight (bounded apart from established sessions).
CREATE TABLE ims_admin_session (
    id_hash     CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    data        LONGBLOB NOT NULL,
    weight      BIGINT   NOT NULL,
    pending     BOOLEAN  NOT NULL,
    expiry_date BIGINT   NOT NULL,
    updated_at  BIGINT   NOT NULL,
    -- Eviction walks a class from its newest session (covering: the primary
    -- key is in every InnoDB index).
    INDEX ims_admin_session_class_expiry (pending, expiry_date, id_hash, weight),
    -- The sweep.
    INDEX ims_admin_session_expiry (expiry_date)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
