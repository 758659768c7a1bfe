//! Which IMS a context's tokens come from.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use ims_api::{Error, ImsEnvironment, TokenGrants, TokenRevoker, TokenVerifier};

use crate::{HttpPolicy, ImsClient, LocalVerifier, VerifierConfig};

/// One [`ImsClient`] per IMS environment, made when a context first needs
/// it: a context's `env` / `ims_url` decides where its tokens come from,
/// and contexts without one use the default environment.
///
/// ```
/// use ims_api::ImsEnvironment;
/// use ims_core::{HttpPolicy, ImsClients};
///
/// let clients = ImsClients::new(ImsEnvironment::Prod, HttpPolicy::default());
/// let emulator = ImsEnvironment::custom("http://127.0.0.1:9800")?;
/// assert_eq!(clients.client(Some(&emulator))?.environment(), &emulator);
/// assert_eq!(clients.client(None)?.environment(), &ImsEnvironment::Prod);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ImsClients {
    default: ImsEnvironment,
    policy: HttpPolicy,
    clients: Mutex<HashMap<String, ImsClient>>,
    verifiers: Mutex<HashMap<String, Arc<LocalVerifier>>>,
}

impl ImsClients {
    /// Clients for contexts, `default` for those that name no environment.
    pub fn new(default: ImsEnvironment, policy: HttpPolicy) -> Self {
        ImsClients {
            default,
            policy,
            clients: Mutex::new(HashMap::new()),
            verifiers: Mutex::new(HashMap::new()),
        }
    }

    /// The local verifier of `env`'s tokens (the default environment for
    /// `None`): its key set is fetched once and kept, per environment.
    pub fn verifier(&self, env: Option<&ImsEnvironment>) -> Result<Arc<LocalVerifier>, Error> {
        let env = env.unwrap_or(&self.default);
        let mut verifiers = self
            .verifiers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(verifier) = verifiers.get(&env.name()) {
            return Ok(Arc::clone(verifier));
        }
        let config = VerifierConfig::default().with_http_policy(self.policy.clone());
        let verifier = Arc::new(LocalVerifier::new(env.clone(), config)?);
        verifiers.insert(env.name(), Arc::clone(&verifier));
        Ok(verifier)
    }

    /// The client for `env` (the default environment for `None`).
    pub fn client(&self, env: Option<&ImsEnvironment>) -> Result<ImsClient, Error> {
        let env = env.unwrap_or(&self.default);
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(client) = clients.get(&env.name()) {
            return Ok(client.clone());
        }
        let client = ImsClient::with_policy(env.clone(), self.policy.clone())?;
        clients.insert(env.name(), client.clone());
        Ok(client)
    }
}

impl fmt::Debug for ImsClients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImsClients")
            .field("default", &self.default.name())
            .finish_non_exhaustive()
    }
}

/// Where the provider gets its grants and revoker.
pub(super) enum Source {
    /// The same for every context (one environment, or test doubles).
    Fixed {
        grants: Arc<dyn TokenGrants>,
        revoker: Arc<dyn TokenRevoker>,
    },
    /// An IMS client per environment.
    PerEnvironment(ImsClients),
}

/// What checks a cached access token before it is handed out.
pub(super) enum CachedCheck {
    /// Nothing (aio checks the expiry only).
    None,
    /// One verifier for every context.
    Fixed(Arc<dyn TokenVerifier>),
    /// The verifier of each context's environment.
    PerEnvironment,
}

impl Source {
    pub(super) fn grants(
        &self,
        env: Option<&ImsEnvironment>,
    ) -> Result<Arc<dyn TokenGrants>, Error> {
        match self {
            Source::Fixed { grants, .. } => Ok(grants.clone()),
            Source::PerEnvironment(clients) => Ok(Arc::new(clients.client(env)?)),
        }
    }

    /// The verifier of `env`'s tokens under `check`, if any.
    pub(super) fn verifier(
        &self,
        check: &CachedCheck,
        env: Option<&ImsEnvironment>,
    ) -> Result<Option<Arc<dyn TokenVerifier>>, Error> {
        match (check, self) {
            (CachedCheck::Fixed(verifier), _) => Ok(Some(Arc::clone(verifier))),
            (CachedCheck::PerEnvironment, Source::PerEnvironment(clients)) => {
                let verifier: Arc<dyn TokenVerifier> = clients.verifier(env)?;
                Ok(Some(verifier))
            }
            _ => Ok(None),
        }
    }

    pub(super) fn revoker(
        &self,
        env: Option<&ImsEnvironment>,
    ) -> Result<Arc<dyn TokenRevoker>, Error> {
        match self {
            Source::Fixed { revoker, .. } => Ok(revoker.clone()),
            Source::PerEnvironment(clients) => Ok(Arc::new(clients.client(env)?)),
        }
    }
}
