-- The Web API's trust boundary: the organization a token's admin was found a
-- member of, and each admin's last revocation (which a first sight in flight
-- compares with its start, so that it cannot outlive the revocation).
ALTER TABLE admin_adobe_ims_webapi ADD COLUMN organization_id TEXT NULL;

CREATE TABLE admin_adobe_ims_webapi_revocation (
    admin_user_id INTEGER NOT NULL PRIMARY KEY REFERENCES admin_user (id) ON DELETE CASCADE,
    revoked_at    INTEGER NOT NULL
);
