-- ims-store schema, SQLite. Times are milliseconds since the Unix epoch (INTEGER);
-- encrypted columns hold nonce (12 bytes) || AES-256-GCM ciphertext and tag.

CREATE TABLE admin_user (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    username          TEXT    NOT NULL,
    email             TEXT    NOT NULL,
    email_normalized  TEXT    NOT NULL,
    first_name        TEXT    NOT NULL,
    last_name         TEXT    NOT NULL,
    password_hash     TEXT    NOT NULL,
    is_active         BOOLEAN NOT NULL DEFAULT 1,
    role              TEXT    NULL,
    failures_num      INTEGER NOT NULL DEFAULT 0,
    first_failure     INTEGER NULL,
    lock_expires      INTEGER NULL,
    lock_version      INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE UNIQUE INDEX admin_user_username_unique ON admin_user (username);
CREATE UNIQUE INDEX admin_user_email_unique ON admin_user (email_normalized);

CREATE TABLE admin_adobe_ims_webapi (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    admin_user_id           INTEGER NOT NULL REFERENCES admin_user (id) ON DELETE CASCADE,
    access_token_hash       TEXT    NOT NULL,
    access_token            BLOB    NULL,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL,
    last_check_time         INTEGER NOT NULL,
    access_token_expires_at INTEGER NOT NULL,
    status                  TEXT    NOT NULL DEFAULT 'validated'
                            CHECK (status IN ('validated', 'invalidated')),
    invalidated_at          INTEGER NULL,
    invalidation_reason     TEXT    NULL
);
CREATE UNIQUE INDEX admin_adobe_ims_webapi_hash_unique ON admin_adobe_ims_webapi (access_token_hash);
CREATE INDEX admin_adobe_ims_webapi_admin_user_id ON admin_adobe_ims_webapi (admin_user_id);
CREATE INDEX admin_adobe_ims_webapi_expires_at ON admin_adobe_ims_webapi (access_token_expires_at);

CREATE TABLE adobe_user_profile (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    admin_user_id           INTEGER NOT NULL REFERENCES admin_user (id) ON DELETE CASCADE,
    name                    TEXT    NOT NULL,
    email                   TEXT    NOT NULL,
    image                   TEXT    NULL,
    account_type            TEXT    NULL,
    access_token            BLOB    NULL,
    refresh_token           BLOB    NULL,
    access_token_expires_at INTEGER NULL,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL
);
CREATE UNIQUE INDEX adobe_user_profile_admin_user_id_unique ON adobe_user_profile (admin_user_id);

CREATE TABLE adobe_ims_settings (
    id                   INTEGER PRIMARY KEY CHECK (id = 1),
    enabled              BOOLEAN NOT NULL,
    client_id            TEXT    NULL,
    client_secret        BLOB    NULL,
    org_id               TEXT    NULL,
    two_factor_confirmed BOOLEAN NOT NULL,
    updated_at           INTEGER NOT NULL
);

CREATE TABLE ims_token_cache (
    context_name             TEXT    NOT NULL PRIMARY KEY,
    access_token             BLOB    NULL,
    access_token_expires_at  INTEGER NULL,
    refresh_token            BLOB    NULL,
    refresh_token_expires_at INTEGER NULL,
    lease_holder             TEXT    NULL,
    lease_expires_at         INTEGER NULL,
    updated_at               INTEGER NOT NULL
);
