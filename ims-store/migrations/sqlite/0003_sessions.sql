-- Admin sessions (tower-sessions), shared by every instance on the database.
-- Rows are keyed by the SHA-256 of the session id (hex), never the id; data is
-- the session's JSON, encrypted (nonce || AES-256-GCM ciphertext and tag);
-- weight is its stored size plus a fixed row overhead, for the budgets;
-- pending marks sign-ins in flight (bounded apart from established sessions).
CREATE TABLE ims_admin_session (
    id_hash     TEXT    NOT NULL PRIMARY KEY,
    data        BLOB    NOT NULL,
    weight      INTEGER NOT NULL,
    pending     BOOLEAN NOT NULL,
    expiry_date INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
-- Eviction walks a class from its newest session (covering: no table reads).
CREATE INDEX ims_admin_session_class_expiry
    ON ims_admin_session (pending, expiry_date, id_hash, weight);
-- The sweep.
CREATE INDEX ims_admin_session_expiry ON ims_admin_session (expiry_date);
