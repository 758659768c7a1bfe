-- One IMS validation per new Web API token per fleet: the first-sight lease
-- (one row per token being validated, or refused a moment ago), and the
-- SHA-256 of the e-mail address the token's profile gave, with which another
-- instance checks its admin's current address without asking IMS again.
ALTER TABLE admin_adobe_ims_webapi ADD COLUMN admin_email_sha256 TEXT NULL;

CREATE TABLE admin_adobe_ims_webapi_first_sight (
    access_token_hash TEXT   NOT NULL PRIMARY KEY,
    holder            TEXT   NOT NULL,
    taken_at          BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    refusal           TEXT   NULL
);
CREATE INDEX admin_adobe_ims_webapi_first_sight_expires_at
    ON admin_adobe_ims_webapi_first_sight (expires_at);
