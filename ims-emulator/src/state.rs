//! Shared server state: seed, keys, issued-token bookkeeping, sessions, stats and faults.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard};

use crate::faults::FaultTable;
use crate::keys::KeyStore;
use crate::locks::{lock, read, write};
use crate::seed::{Seed, SeedClient};
use crate::stats::StatsTable;
use crate::tokens::{self, Minted, TokenProblem, TokenSpec, Verified};

/// A browser session created by the sign-in page.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) user_id: String,
    pub(crate) ended: bool,
}

/// What an authorization code stands for.
#[derive(Debug, Clone)]
pub(crate) struct CodeGrant {
    pub(crate) client_id: String,
    pub(crate) user_id: String,
    pub(crate) scope: Vec<String>,
    pub(crate) redirect_uri: String,
    pub(crate) code_challenge: Option<(String, String)>,
    pub(crate) nonce: Option<String>,
    pub(crate) session_id: Option<String>,
    pub(crate) used: bool,
    pub(crate) expires_at_ms: u64,
    /// Tokens issued for this code (revoked if the code is replayed).
    pub(crate) issued: Vec<String>,
}

/// Bookkeeping of issued tokens.
#[derive(Debug, Default)]
pub(crate) struct Store {
    revoked: HashSet<String>,
    children: HashMap<String, Vec<String>>,
    token_session: HashMap<String, String>,
    session_tokens: HashMap<String, Vec<String>>,
    pub(crate) sessions: HashMap<String, Session>,
    pub(crate) codes: HashMap<String, CodeGrant>,
    jtis: HashMap<String, u64>,
}

impl Store {
    pub(crate) fn is_revoked(&self, id: &str) -> bool {
        self.revoked.contains(id)
    }

    /// Records that `child` was made from refresh token `parent`.
    pub(crate) fn link_parent(&mut self, parent: &str, child: &str) {
        self.children
            .entry(parent.to_owned())
            .or_default()
            .push(child.to_owned());
    }

    /// Records that `token` belongs to browser session `session`.
    pub(crate) fn link_session(&mut self, session: &str, token: &str) {
        self.token_session
            .insert(token.to_owned(), session.to_owned());
        self.session_tokens
            .entry(session.to_owned())
            .or_default()
            .push(token.to_owned());
    }

    /// The browser session `token` belongs to.
    pub(crate) fn session_of(&self, token: &str) -> Option<String> {
        self.token_session.get(token).cloned()
    }

    /// Revokes one token, and with `cascade` the tokens made from it.
    pub(crate) fn revoke(&mut self, id: &str, cascade: bool) {
        self.revoked.insert(id.to_owned());
        if cascade && let Some(children) = self.children.get(id).cloned() {
            for child in children {
                self.revoke(&child, true);
            }
        }
    }

    /// Ends the session `token` belongs to and revokes every token of that session.
    pub(crate) fn logout_token(&mut self, id: &str) {
        self.revoke(id, true);
        if let Some(session) = self.token_session.get(id).cloned() {
            self.end_session(&session);
        }
    }

    pub(crate) fn end_session(&mut self, session: &str) {
        if let Some(s) = self.sessions.get_mut(session) {
            s.ended = true;
        }
        if let Some(tokens) = self.session_tokens.get(session).cloned() {
            for t in tokens {
                self.revoke(&t, true);
            }
        }
    }

    /// Records a JWT-assertion `jti`; false if it was seen before and has not expired.
    pub(crate) fn record_jti(&mut self, jti: &str, expires_ms: u64, now: u64) -> bool {
        self.jtis.retain(|_, exp| *exp > now);
        if self.jtis.contains_key(jti) {
            return false;
        }
        self.jtis.insert(jti.to_owned(), expires_ms);
        true
    }

    /// Drops expired codes (their JWTs fail verification anyway).
    pub(crate) fn prune_codes(&mut self, now: u64) {
        self.codes.retain(|_, c| c.expires_at_ms > now);
    }
}

/// Everything the handlers share.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) base: String,
    pub(crate) authority: String,
    pub(crate) seed: Seed,
    /// Clients made by dynamic client registration (`POST /ims/register`), by id.
    registered: RwLock<HashMap<String, SeedClient>>,
    keys: RwLock<KeyStore>,
    rotation: Mutex<()>,
    pub(crate) store: Mutex<Store>,
    pub(crate) stats: StatsTable,
    pub(crate) faults: FaultTable,
}

/// Cheaply clonable handle to [`Inner`].
#[derive(Debug, Clone)]
pub(crate) struct AppState(pub(crate) Arc<Inner>);

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl Inner {
    pub(crate) fn new(base: String, authority: String, seed: Seed, keys: KeyStore) -> Self {
        Self {
            base,
            authority,
            seed,
            registered: RwLock::new(HashMap::new()),
            keys: RwLock::new(keys),
            rotation: Mutex::new(()),
            store: Mutex::new(Store::default()),
            stats: StatsTable::default(),
            faults: FaultTable::default(),
        }
    }

    pub(crate) fn keys(&self) -> RwLockReadGuard<'_, KeyStore> {
        read(&self.keys)
    }

    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }

    /// Mints a token with the current key.
    pub(crate) fn mint(&self, spec: &TokenSpec) -> Result<Minted, String> {
        tokens::mint(&self.keys(), &self.authority, spec)
    }

    /// Verifies signature, expiry and revocation.
    pub(crate) fn verify(&self, token: &str) -> Result<Verified, TokenProblem> {
        let verified = tokens::verify(&self.keys(), token, tokens::now_ms())?;
        if self.store().is_revoked(&verified.id) {
            return Err(TokenProblem {
                reason: "token_revoked",
                description: "the token has been invalidated".to_owned(),
            });
        }
        Ok(verified)
    }

    /// Adds a fresh RSA-2048 key that signs from now on; returns its kid.
    pub(crate) fn rotate_keys(&self) -> Result<String, crate::EmulatorError> {
        let _guard = lock(&self.rotation);
        let kid = self.keys().next_kid();
        let key = crate::keys::SigningKey::generate(kid.clone())?;
        write(&self.keys).install(key);
        Ok(kid)
    }

    /// The client with this id: a seed client, or one made by dynamic client registration.
    pub(crate) fn client(&self, client_id: &str) -> Option<Cow<'_, SeedClient>> {
        if let Some(client) = self.seed.client(client_id) {
            return Some(Cow::Borrowed(client));
        }
        read(&self.registered)
            .get(client_id)
            .cloned()
            .map(Cow::Owned)
    }

    /// Keeps a client made by dynamic client registration; `false` (and nothing kept) when
    /// `limit` clients are registered already.
    pub(crate) fn register_client(&self, client: SeedClient, limit: usize) -> bool {
        let mut registered = write(&self.registered);
        if registered.len() >= limit {
            return false;
        }
        registered.insert(client.client_id.clone(), client);
        true
    }

    /// `<base>` + `path`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}
