-- One IMS validation per new Web API token per fleet: the first-sight lease
-- (one row per token being validated, or refused a moment ago), and the
-- SHA-256 of the e-mail address the token's profile gave, with which another
-- instance checks its admin's current address without asking IMS again.
ALTER TABLE admin_adobe_ims_webapi
    ADD COLUMN admin_email_sha256 VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL;

CREATE TABLE admin_adobe_ims_webapi_first_sight (
    access_token_hash VARCHAR(64)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    holder            VARCHAR(64)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    taken_at          BIGINT       NOT NULL,
    expires_at        BIGINT       NOT NULL,
    refusal           VARCHAR(255) NULL,
    KEY admin_adobe_ims_webapi_first_sight_expires_at (expires_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
