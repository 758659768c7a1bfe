//! The seed: organizations, users and clients the emulator knows, as JSON.
//!
//! [`Seed::default`] is the documented built-in seed (its well-known values are the constants of
//! [`crate::default_seed`]); [`Seed::from_json_file`] loads one from a file (`--seed FILE`).

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::default_seed as d;
use crate::error::EmulatorError;

/// Grant name that allows a client to use the legacy JWT exchange (`/ims/exchange/jwt`).
pub const GRANT_JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Grant name that allows a client to exchange a user's access token for one of its own
/// (on-behalf-of, `POST /ims/token/v4`).
pub const GRANT_TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// Grant name that allows a client to use the cluster access-token exchange
/// (`grant_type=cluster_at_exchange` on `/ims/token/v2` and `/v3`).
pub const GRANT_CLUSTER_EXCHANGE: &str = "cluster_at_exchange";

/// Everything the emulator knows: top-level keys `orgs`, `users`, `clients`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    /// Organizations.
    #[serde(default)]
    pub orgs: Vec<SeedOrg>,
    /// Users who can sign in on the sign-in page.
    #[serde(default)]
    pub users: Vec<SeedUser>,
    /// OAuth clients (web apps, server-to-server, JWT service accounts).
    #[serde(default)]
    pub clients: Vec<SeedClient>,
}

/// An organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedOrg {
    /// Org id with its authority suffix, e.g. `A1B2C3D4E5F6A7B8C9D0E1F2@AdobeOrg`.
    pub id: String,
    /// Display name (`orgName`).
    pub name: String,
    /// `orgType` (default `Enterprise`).
    #[serde(default = "default_org_type")]
    pub org_type: String,
    /// `countryCode` (default `US`).
    #[serde(default = "default_country")]
    pub country_code: String,
    /// User ids (or technical-account ids) that are members.
    #[serde(default)]
    pub members: Vec<String>,
}

/// A user who can sign in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedUser {
    /// IMS user id, e.g. `1111AAAA2222BBBB3333CCCC@AdobeID`.
    pub user_id: String,
    /// Email, used to sign in.
    pub email: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Password for the sign-in page (plain text: this is an emulator).
    pub password: String,
    /// Account type (`ind` or `ent`; default `ent`).
    #[serde(default = "default_account_type")]
    pub account_type: String,
    /// Country code (default `US`).
    #[serde(default = "default_country")]
    pub country_code: String,
    /// Whether the email is verified (default `true`).
    #[serde(default = "default_true")]
    pub email_verified: bool,
}

impl SeedUser {
    /// `"First Last"`.
    pub fn display_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

/// An OAuth client (an "API key" at Adobe).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedClient {
    /// Client id.
    pub client_id: String,
    /// Client secret; `None` for a public client (which must use PKCE).
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Redirect URI patterns; `*` matches any run of characters (e.g. `http://127.0.0.1:*`).
    /// The first pattern without `*` is the default redirect URI.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Allowed grants: `authorization_code`, `refresh_token`, `client_credentials`,
    /// [`GRANT_JWT_BEARER`] for the JWT exchange, [`GRANT_TOKEN_EXCHANGE`] for the on-behalf-of
    /// exchange and [`GRANT_CLUSTER_EXCHANGE`] for the cluster access-token exchange.
    #[serde(default)]
    pub grant_types: Vec<String>,
    /// Scopes the client may ask for.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The organization the client (and its technical account) belongs to.
    #[serde(default)]
    pub org_id: Option<String>,
    /// The technical account of a server-to-server or JWT client.
    #[serde(default)]
    pub technical_account: Option<TechnicalAccount>,
}

impl SeedClient {
    /// Whether the client may use `grant`.
    pub fn allows_grant(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }

    /// Whether the client may ask for `scope`.
    pub fn allows_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// Whether `uri` matches one of the registered redirect patterns.
    pub fn redirect_allowed(&self, uri: &str) -> bool {
        // A redirect URI must be an absolute URL without credentials or fragment.
        let Ok(parsed) = url::Url::parse(uri) else {
            return false;
        };
        if !parsed.username().is_empty()
            || parsed.password().is_some()
            || parsed.fragment().is_some()
        {
            return false;
        }
        self.redirect_uris.iter().any(|p| glob_match(p, uri))
    }

    /// The default redirect URI: the first registered pattern without a wildcard.
    pub fn default_redirect(&self) -> Option<&str> {
        self.redirect_uris
            .iter()
            .map(String::as_str)
            .find(|p| !p.contains('*'))
    }
}

/// The technical account behind a server-to-server or JWT client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TechnicalAccount {
    /// Technical account id, e.g. `...@techacct.adobe.com` (the token's `user_id`, the JWT `sub`).
    pub id: String,
    /// Technical account email.
    #[serde(default)]
    pub email: String,
    /// PEM public key (SPKI or certificate) that verifies JWT assertions; JWT accounts only.
    #[serde(default)]
    pub public_key_pem: Option<String>,
    /// The matching private key, shipped only for demo accounts so tests can sign assertions.
    #[serde(default)]
    pub private_key_pem: Option<String>,
    /// Meta scopes of the binding (e.g. `ent_user_sdk`); JWT accounts only.
    #[serde(default)]
    pub meta_scopes: Vec<String>,
}

fn default_org_type() -> String {
    "Enterprise".to_owned()
}
fn default_country() -> String {
    "US".to_owned()
}
fn default_account_type() -> String {
    "ent".to_owned()
}
fn default_true() -> bool {
    true
}

/// `*` matches any (possibly empty) run of characters; everything else matches itself.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while ti < t.len() {
        if pi < p.len() && p[pi] != '*' && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

impl Seed {
    /// The built-in default seed (see [`crate::default_seed`] for its values).
    pub fn default_seed() -> Self {
        let web_scopes = [
            "AdobeID",
            "openid",
            "email",
            "profile",
            "org.read",
            "offline_access",
            "read_organizations",
            "additional_info.roles",
            "additional_info.projectedProductContext",
        ];
        let loopback = vec![
            "http://127.0.0.1:*".to_owned(),
            "http://localhost:*".to_owned(),
        ];
        let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        Seed {
            orgs: vec![SeedOrg {
                id: d::ORG_ID.to_owned(),
                name: d::ORG_NAME.to_owned(),
                org_type: default_org_type(),
                country_code: default_country(),
                members: vec![
                    d::MEMBER_USER_ID.to_owned(),
                    d::S2S_TECHNICAL_ACCOUNT_ID.to_owned(),
                    d::JWT_TECHNICAL_ACCOUNT_ID.to_owned(),
                ],
            }],
            users: vec![
                SeedUser {
                    user_id: d::MEMBER_USER_ID.to_owned(),
                    email: d::MEMBER_EMAIL.to_owned(),
                    first_name: "Mia".to_owned(),
                    last_name: "Member".to_owned(),
                    password: d::MEMBER_PASSWORD.to_owned(),
                    account_type: "ent".to_owned(),
                    country_code: default_country(),
                    email_verified: true,
                },
                SeedUser {
                    user_id: d::NON_MEMBER_USER_ID.to_owned(),
                    email: d::NON_MEMBER_EMAIL.to_owned(),
                    first_name: "Otto".to_owned(),
                    last_name: "Outsider".to_owned(),
                    password: d::NON_MEMBER_PASSWORD.to_owned(),
                    account_type: "ind".to_owned(),
                    country_code: "DE".to_owned(),
                    email_verified: true,
                },
            ],
            clients: vec![
                SeedClient {
                    client_id: d::WEB_CLIENT_ID.to_owned(),
                    client_secret: Some(d::WEB_CLIENT_SECRET.to_owned()),
                    name: "Emulator web app (admin login)".to_owned(),
                    redirect_uris: loopback.clone(),
                    grant_types: strings(&[
                        "authorization_code",
                        "refresh_token",
                        GRANT_CLUSTER_EXCHANGE,
                    ]),
                    scopes: strings(&web_scopes),
                    org_id: Some(d::ORG_ID.to_owned()),
                    technical_account: None,
                },
                SeedClient {
                    client_id: d::PUBLIC_CLIENT_ID.to_owned(),
                    client_secret: None,
                    name: "Emulator native app (public client, PKCE)".to_owned(),
                    redirect_uris: loopback,
                    grant_types: strings(&["authorization_code", "refresh_token"]),
                    scopes: strings(&web_scopes),
                    org_id: None,
                    technical_account: None,
                },
                SeedClient {
                    client_id: d::S2S_CLIENT_ID.to_owned(),
                    client_secret: Some(d::S2S_CLIENT_SECRET.to_owned()),
                    name: "Emulator server-to-server".to_owned(),
                    redirect_uris: Vec::new(),
                    grant_types: strings(&["client_credentials", GRANT_TOKEN_EXCHANGE]),
                    scopes: strings(&[
                        "openid",
                        "AdobeID",
                        "read_organizations",
                        "additional_info.projectedProductContext",
                        "additional_info.roles",
                    ]),
                    org_id: Some(d::ORG_ID.to_owned()),
                    technical_account: Some(TechnicalAccount {
                        id: d::S2S_TECHNICAL_ACCOUNT_ID.to_owned(),
                        email: d::S2S_TECHNICAL_ACCOUNT_EMAIL.to_owned(),
                        public_key_pem: None,
                        private_key_pem: None,
                        meta_scopes: Vec::new(),
                    }),
                },
                SeedClient {
                    client_id: d::JWT_CLIENT_ID.to_owned(),
                    client_secret: Some(d::JWT_CLIENT_SECRET.to_owned()),
                    name: "Emulator JWT service account (legacy)".to_owned(),
                    redirect_uris: Vec::new(),
                    grant_types: strings(&[GRANT_JWT_BEARER]),
                    scopes: Vec::new(),
                    org_id: Some(d::ORG_ID.to_owned()),
                    technical_account: Some(TechnicalAccount {
                        id: d::JWT_TECHNICAL_ACCOUNT_ID.to_owned(),
                        email: d::JWT_TECHNICAL_ACCOUNT_EMAIL.to_owned(),
                        public_key_pem: Some(d::jwt_public_key_pem().to_owned()),
                        private_key_pem: Some(d::jwt_private_key_pem().to_owned()),
                        meta_scopes: d::JWT_META_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
                    }),
                },
            ],
        }
    }

    /// Parses a seed from JSON text and checks it.
    pub fn from_json_str(json: &str) -> Result<Self, EmulatorError> {
        let seed: Seed =
            serde_json::from_str(json).map_err(|e| EmulatorError::Seed(e.to_string()))?;
        seed.check()?;
        Ok(seed)
    }

    /// Reads a seed from a JSON file and checks it.
    pub fn from_json_file(path: impl AsRef<Path>) -> Result<Self, EmulatorError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| EmulatorError::Seed(format!("{}: {e}", path.display())))?;
        Self::from_json_str(&text)
    }

    /// The seed as pretty JSON (secrets included).
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".to_owned())
    }

    /// Checks that ids are unique and references resolve.
    pub fn check(&self) -> Result<(), EmulatorError> {
        let err = |m: String| Err(EmulatorError::Seed(m));
        let mut seen = HashSet::new();
        for c in &self.clients {
            if c.client_id.is_empty() {
                return err("a client has an empty client_id".into());
            }
            if !seen.insert(c.client_id.to_ascii_lowercase()) {
                return err(format!("duplicate client_id {}", c.client_id));
            }
            if let Some(org) = &c.org_id
                && self.org(org).is_none()
            {
                return err(format!("client {} names unknown org {org}", c.client_id));
            }
        }
        let mut emails = HashSet::new();
        let mut ids = HashSet::new();
        for u in &self.users {
            if !emails.insert(u.email.to_ascii_lowercase()) {
                return err(format!("duplicate user email {}", u.email));
            }
            if !ids.insert(u.user_id.clone()) {
                return err(format!("duplicate user_id {}", u.user_id));
            }
        }
        let mut orgs = HashSet::new();
        for o in &self.orgs {
            if !o.id.contains('@') {
                return err(format!(
                    "org id {} must carry its authority, e.g. @AdobeOrg",
                    o.id
                ));
            }
            if !orgs.insert(o.id.to_ascii_uppercase()) {
                return err(format!("duplicate org {}", o.id));
            }
        }
        Ok(())
    }

    /// The client with this id.
    pub fn client(&self, client_id: &str) -> Option<&SeedClient> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }

    /// The user with this user id.
    pub fn user(&self, user_id: &str) -> Option<&SeedUser> {
        self.users.iter().find(|u| u.user_id == user_id)
    }

    /// The user with this email (case-insensitive).
    pub fn user_by_email(&self, email: &str) -> Option<&SeedUser> {
        self.users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))
    }

    /// The org with this id (case-insensitive; the `@AdobeOrg` suffix may be omitted).
    pub fn org(&self, org_id: &str) -> Option<&SeedOrg> {
        self.orgs.iter().find(|o| same_org(&o.id, org_id))
    }

    /// The client whose technical account has this id.
    pub fn client_by_technical_account(&self, account_id: &str) -> Option<&SeedClient> {
        self.clients.iter().find(|c| {
            c.technical_account
                .as_ref()
                .is_some_and(|t| t.id == account_id)
        })
    }

    /// Orgs that `member_id` (a user id or technical-account id) belongs to.
    pub fn orgs_of<'a>(&'a self, member_id: &'a str) -> impl Iterator<Item = &'a SeedOrg> + 'a {
        self.orgs
            .iter()
            .filter(move |o| o.members.iter().any(|m| m == member_id))
    }
}

impl Default for Seed {
    fn default() -> Self {
        Self::default_seed()
    }
}

/// Org ids compare case-insensitively, with or without the `@AdobeOrg` suffix.
pub(crate) fn same_org(a: &str, b: &str) -> bool {
    let strip = |s: &str| {
        let s = s.trim();
        match s.rsplit_once('@') {
            Some((ident, _)) => ident.to_ascii_uppercase(),
            None => s.to_ascii_uppercase(),
        }
    };
    strip(a) == strip(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob() {
        assert!(glob_match("http://127.0.0.1:*", "http://127.0.0.1:8080/cb"));
        assert!(glob_match("a*c*e", "abcde"));
        assert!(!glob_match("http://localhost:*", "https://localhost:1/"));
        assert!(glob_match("x", "x"));
        assert!(!glob_match("x", "xy"));
    }

    #[test]
    fn default_seed_round_trips() {
        let seed = Seed::default_seed();
        seed.check().unwrap();
        let again = Seed::from_json_str(&seed.to_json_pretty()).unwrap();
        assert_eq!(seed, again);
    }

    #[test]
    fn redirect_rules() {
        let seed = Seed::default_seed();
        let web = seed.client(d::WEB_CLIENT_ID).unwrap();
        assert!(web.redirect_allowed("http://127.0.0.1:4000/callback"));
        assert!(web.redirect_allowed("http://localhost:1/x?y=1"));
        assert!(!web.redirect_allowed("https://evil.example/callback"));
        assert!(!web.redirect_allowed("http://localhost:80@evil.example/"));
        assert!(!web.redirect_allowed("http://localhost:1/#frag"));
        assert!(same_org("a1b2@AdobeOrg", "A1B2"));
    }
}
