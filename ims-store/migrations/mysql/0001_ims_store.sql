-- ims-store schema, MySQL 8 / MariaDB 10.5+. Times are milliseconds since the Unix epoch
-- (BIGINT); encrypted columns hold nonce (12 bytes) || AES-256-GCM ciphertext and tag.
-- Indexed text columns are VARCHAR(255) (utf8mb4 index limit); the token hash is ASCII.

CREATE TABLE admin_user (
    id                BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    username          VARCHAR(255) NOT NULL,
    email             VARCHAR(255) NOT NULL,
    email_normalized  VARCHAR(255) NOT NULL,
    first_name        VARCHAR(255) NOT NULL,
    last_name         VARCHAR(255) NOT NULL,
    password_hash     VARCHAR(255) NOT NULL,
    is_active         BOOLEAN      NOT NULL DEFAULT TRUE,
    role              VARCHAR(255) NULL,
    failures_num      BIGINT       NOT NULL DEFAULT 0,
    first_failure     BIGINT       NULL,
    lock_expires      BIGINT       NULL,
    lock_version      BIGINT       NOT NULL DEFAULT 0,
    created_at        BIGINT       NOT NULL,
    updated_at        BIGINT       NOT NULL,
    UNIQUE KEY admin_user_username_unique (username),
    UNIQUE KEY admin_user_email_unique (email_normalized)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE admin_adobe_ims_webapi (
    id                      BIGINT        NOT NULL AUTO_INCREMENT PRIMARY KEY,
    admin_user_id           BIGINT        NOT NULL,
    access_token_hash       VARCHAR(64)   CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    access_token            BLOB          NULL,
    created_at              BIGINT        NOT NULL,
    updated_at              BIGINT        NOT NULL,
    last_check_time         BIGINT        NOT NULL,
    access_token_expires_at BIGINT        NOT NULL,
    status                  VARCHAR(16)   NOT NULL DEFAULT 'validated',
    invalidated_at          BIGINT        NULL,
    invalidation_reason     TEXT          NULL,
    UNIQUE KEY admin_adobe_ims_webapi_hash_unique (access_token_hash),
    KEY admin_adobe_ims_webapi_admin_user_id (admin_user_id),
    KEY admin_adobe_ims_webapi_expires_at (access_token_expires_at),
    CONSTRAINT admin_adobe_ims_webapi_admin_user_fk FOREIGN KEY (admin_user_id)
        REFERENCES admin_user (id) ON DELETE CASCADE,
    CONSTRAINT admin_adobe_ims_webapi_status_check CHECK (status IN ('validated', 'invalidated'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE adobe_user_profile (
    id                      BIGINT        NOT NULL AUTO_INCREMENT PRIMARY KEY,
    admin_user_id           BIGINT        NOT NULL,
    name                    VARCHAR(255)  NOT NULL,
    email                   VARCHAR(255)  NOT NULL,
    image                   TEXT          NULL,
    account_type            VARCHAR(255)  NULL,
    access_token            BLOB          NULL,
    refresh_token           BLOB          NULL,
    access_token_expires_at BIGINT        NULL,
    created_at              BIGINT        NOT NULL,
    updated_at              BIGINT        NOT NULL,
    UNIQUE KEY adobe_user_profile_admin_user_id_unique (admin_user_id),
    CONSTRAINT adobe_user_profile_admin_user_fk FOREIGN KEY (admin_user_id)
        REFERENCES admin_user (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE adobe_ims_settings (
    id                   BIGINT        NOT NULL PRIMARY KEY,
    enabled              BOOLEAN       NOT NULL,
    client_id            VARCHAR(255)  NULL,
    client_secret        BLOB          NULL,
    org_id               VARCHAR(64)   NULL,
    two_factor_confirmed BOOLEAN       NOT NULL,
    updated_at           BIGINT        NOT NULL,
    CONSTRAINT adobe_ims_settings_single_row CHECK (id = 1)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE ims_token_cache (
    context_name             VARCHAR(128)  NOT NULL PRIMARY KEY,
    access_token             BLOB          NULL,
    access_token_expires_at  BIGINT        NULL,
    refresh_token            BLOB          NULL,
    refresh_token_expires_at BIGINT        NULL,
    lease_holder             VARCHAR(255)  NULL,
    lease_expires_at         BIGINT        NULL,
    updated_at               BIGINT        NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
