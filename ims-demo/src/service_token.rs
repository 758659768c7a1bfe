//! `ims-demo service-token`: the host's own calls to Adobe APIs need a
//! service token. It comes from `ims-core`'s [`ContextTokenProvider`] over
//! the database's shared token cache (`ims-store`'s `SqlTokenCache`, the
//! `ims_token_cache` table), so that every instance of a fleet shares one
//! token per context: in one process the callers share one flight, across
//! processes the cache's lease lets one of them go to IMS while the others
//! wait for its token.
//!
//! The context is a server-to-server one (OAuth client credentials) given
//! by flags or environment variables; the command asks for its token from
//! `--tasks` concurrent tasks and prints when the token expires — never the
//! token.

use std::sync::Arc;

use async_trait::async_trait;
use ims_api::{
    AccessToken, ClientId, ConfigLocation, ContextCredentials, ContextName, ContextStore, Error,
    ExpiringToken, ImsContext, OrgId, Scopes, ServerToServerContext, SystemClock, TokenProvider,
};
use ims_core::{ContextTokenProvider, ProviderConfig};
use ims_store::Store;

use crate::cli::{CommonArgs, ServiceTokenArgs};
use crate::wiring::{self, DemoError};

/// The most tasks `--tasks` may start.
pub(crate) const MAX_TASKS: usize = 10_000;

/// One server-to-server context, given on the command line; read-only.
#[derive(Debug)]
struct FlagContext(ImsContext);

#[async_trait]
impl ContextStore for FlagContext {
    async fn get(&self, name: &ContextName) -> ims_api::Result<Option<ImsContext>> {
        Ok((name == &self.0.name).then(|| self.0.clone()))
    }

    async fn set(&self, _context: &ImsContext, _location: ConfigLocation) -> ims_api::Result<()> {
        Err(read_only())
    }

    async fn remove(&self, _name: &ContextName) -> ims_api::Result<bool> {
        Err(read_only())
    }

    async fn list(&self) -> ims_api::Result<Vec<ContextName>> {
        Ok(vec![self.0.name.clone()])
    }

    async fn current(&self) -> ims_api::Result<Option<ContextName>> {
        Ok(Some(self.0.name.clone()))
    }

    async fn set_current(&self, _name: &ContextName) -> ims_api::Result<()> {
        Err(read_only())
    }
}

fn read_only() -> Error {
    Error::Misconfigured("the service-token command's context is given by flags".into())
}

/// The context the flags describe.
fn context(args: &ServiceTokenArgs) -> Result<ImsContext, DemoError> {
    let name = ContextName::parse(args.context.trim())
        .map_err(|e| DemoError::new(format!("--context: {e}")))?;
    let client_id = ClientId::parse(args.client_id.trim())
        .map_err(|e| DemoError::new(format!("--client-id / IMS_SERVICE_CLIENT_ID: {e}")))?;
    let scopes = Scopes::parse(&args.scopes);
    let mut credentials = ServerToServerContext::new(client_id, args.client_secret.clone(), scopes);
    if let Some(org) = args.org_id.as_deref() {
        credentials.org_id = Some(
            OrgId::parse(org.trim())
                .map_err(|e| DemoError::new(format!("--org-id / IMS_SERVICE_ORG_ID: {e}")))?,
        );
    }
    Ok(ImsContext::new(
        name,
        ContextCredentials::ServerToServer(credentials),
    ))
}

/// `service-token`: the context's token from `--tasks` concurrent tasks,
/// through the database's shared token cache. Prints its expiry.
pub(crate) async fn run(
    store: &Store,
    common: &CommonArgs,
    args: ServiceTokenArgs,
) -> Result<(), DemoError> {
    if args.tasks == 0 || args.tasks > MAX_TASKS {
        return Err(DemoError::new(format!(
            "--tasks takes 1 to {MAX_TASKS}, not {}",
            args.tasks
        )));
    }
    let context = context(&args)?;
    let name = context.name.clone();
    if common.ims_url.is_none() {
        eprintln!("ims-demo: no --ims-url: asking the demo's built-in IMS emulator");
    }
    let ims = wiring::connect_ims(common.ims_url.as_deref()).await?;
    let provider = Arc::new(ContextTokenProvider::new(
        Arc::new(FlagContext(context)),
        Arc::new(store.token_cache()),
        ims.client.clone(),
        ims.client.clone(),
        Arc::new(SystemClock),
        ProviderConfig::default(),
    ));
    let tasks: Vec<_> = (0..args.tasks)
        .map(|_| {
            let (provider, name) = (Arc::clone(&provider), name.clone());
            tokio::spawn(async move { provider.get_token(&name).await })
        })
        .collect();
    let mut tokens: Vec<ExpiringToken<AccessToken>> = Vec::with_capacity(tasks.len());
    for task in tasks {
        let token = task
            .await
            .map_err(|e| DemoError::new(format!("a task failed: {e}")))?
            .map_err(|e| DemoError::new(format!("the token of context {name}: {e}")))?;
        tokens.push(token);
    }
    let mut distinct: Vec<&str> = tokens.iter().map(|t| t.token.expose_secret()).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let Some(first) = tokens.first() else {
        return Err(DemoError::new("no task ran"));
    };
    let expires_at_ms = ims_api::to_unix_millis(first.expires_at);
    println!(
        "context {name}: token expires at {} (expires_at_ms={expires_at_ms}); tasks={}, distinct_tokens={}",
        first.expires_at,
        tokens.len(),
        distinct.len()
    );
    Ok(())
}
