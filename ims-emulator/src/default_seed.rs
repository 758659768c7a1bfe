//! Well-known values of the built-in default seed ([`crate::Seed::default_seed`]).
//!
//! Other crates' tests sign in, authenticate and sign JWT assertions with these. They are
//! **test fixtures**: public, fixed, and never to be used outside tests.

/// The default org (24 upper-case hex characters plus `@AdobeOrg`, as Magento validates).
pub const ORG_ID: &str = "A1B2C3D4E5F6A7B8C9D0E1F2@AdobeOrg";
/// The default org's name.
pub const ORG_NAME: &str = "Emulated Org";

/// The member user's id.
pub const MEMBER_USER_ID: &str = "1111AAAA2222BBBB3333CCCC@AdobeID";
/// The member user's email (sign-in name); first name "Mia", last name "Member".
pub const MEMBER_EMAIL: &str = "member@example.com";
/// The member user's password on the sign-in page.
pub const MEMBER_PASSWORD: &str = "member-password";

/// A user who is not a member of any org.
pub const NON_MEMBER_USER_ID: &str = "4444DDDD5555EEEE6666FFFF@AdobeID";
/// The non-member's email; first name "Otto", last name "Outsider".
pub const NON_MEMBER_EMAIL: &str = "outsider@example.com";
/// The non-member's password.
pub const NON_MEMBER_PASSWORD: &str = "outsider-password";

/// Web client for admin login (authorization code + refresh token); redirect patterns
/// `http://127.0.0.1:*` and `http://localhost:*`.
pub const WEB_CLIENT_ID: &str = "emulator-web";
/// Its secret.
pub const WEB_CLIENT_SECRET: &str = "emulator-web-secret";

/// A public client (no secret, PKCE required) with the same redirect patterns, for native apps/CLIs.
pub const PUBLIC_CLIENT_ID: &str = "emulator-cli";

/// Server-to-server client (client credentials).
pub const S2S_CLIENT_ID: &str = "emulator-s2s";
/// Its secret.
pub const S2S_CLIENT_SECRET: &str = "emulator-s2s-secret";
/// The server-to-server client's technical account id.
pub const S2S_TECHNICAL_ACCOUNT_ID: &str = "7777AAAA8888BBBB9999CCCC@techacct.adobe.com";
/// The server-to-server client's technical account email.
pub const S2S_TECHNICAL_ACCOUNT_EMAIL: &str = "emulator-s2s@techacct.adobe.com";

/// Legacy JWT service account client.
pub const JWT_CLIENT_ID: &str = "emulator-jwt";
/// Its secret.
pub const JWT_CLIENT_SECRET: &str = "emulator-jwt-secret";
/// The JWT service account's technical account id (the assertion's `sub`).
pub const JWT_TECHNICAL_ACCOUNT_ID: &str = "0000DDDD1111EEEE2222FFFF@techacct.adobe.com";
/// The JWT service account's technical account email.
pub const JWT_TECHNICAL_ACCOUNT_EMAIL: &str = "emulator-jwt@techacct.adobe.com";
/// Meta scopes bound to the JWT service account.
pub const JWT_META_SCOPES: &[&str] = &["ent_user_sdk", "ent_dataservices_sdk"];

/// `fixtures/jwt-account-private-key.pem` as shipped, with its "TEST FIXTURE" comment line.
pub const JWT_PRIVATE_KEY_FIXTURE: &str = include_str!("../fixtures/jwt-account-private-key.pem");
const JWT_PUBLIC_KEY_FIXTURE: &str = include_str!("../fixtures/jwt-account-public-key.pem");
pub(crate) const SIGNING_KEY_1_FIXTURE: &str = include_str!("../fixtures/signing-key-1.pem");
pub(crate) const SIGNING_KEY_2_FIXTURE: &str = include_str!("../fixtures/signing-key-2.pem");

/// The JWT service account's private key (PKCS#8 PEM, comment stripped). TEST FIXTURE — demo key,
/// never use outside tests.
pub fn jwt_private_key_pem() -> &'static str {
    strip_comment(JWT_PRIVATE_KEY_FIXTURE)
}

/// The JWT service account's public key (SPKI PEM).
pub fn jwt_public_key_pem() -> &'static str {
    strip_comment(JWT_PUBLIC_KEY_FIXTURE)
}

/// Drops everything before the first `-----BEGIN` line (the fixture's label).
pub(crate) fn strip_comment(pem: &str) -> &str {
    match pem.find("-----BEGIN") {
        Some(i) => &pem[i..],
        None => pem,
    }
}
