//! Which IMS a context's tokens come from.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use ims_api::{Error, ImsEnvironment, TokenGrants, TokenRevoker};

use crate::{HttpPolicy, ImsClient};

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
}

impl ImsClients {
    /// Clients for contexts, `default` for those that name no environment.
    pub fn new(default: ImsEnvironment, policy: HttpPolicy) -> Self {
        ImsClients {
            default,
            policy,
            clients: Mutex::new(HashMap::new()),
        }
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
