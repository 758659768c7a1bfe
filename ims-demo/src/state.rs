//! What the pages, the REST handlers and the password sign-in share: the
//! application state and how the current admin signed in. Below `wiring`
//! (which builds the state) and the handlers (which read it), so that
//! neither imports the other.

use std::sync::Arc;

use admin_ims::AdminIms;
use admin_ims::axum::AdminImsWeb;
use axum::extract::FromRef;
use ims_api::ImsSettingsStore as _;
use ims_store::Store;
use webapi_ims::WebApiAuthenticator;

/// What the pages and REST handlers share.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    pub(crate) store: Store,
    pub(crate) web: AdminImsWeb,
    pub(crate) webapi: Arc<WebApiAuthenticator>,
    /// Set when the demo runs its own emulator (the sign-in page says how).
    pub(crate) emulator_hint: bool,
}

/// The Web API's authenticator, for `webapi_ims::axum::BearerAdmin`.
impl FromRef<AppState> for Arc<WebApiAuthenticator> {
    fn from_ref(state: &AppState) -> Self {
        Arc::clone(&state.webapi)
    }
}

impl AppState {
    pub(crate) fn ims(&self) -> &AdminIms {
        self.web.service()
    }

    /// Whether the integration is on (a storage failure counts as on, so
    /// password sign-in fails closed).
    pub(crate) async fn ims_enabled(&self) -> bool {
        self.store
            .settings()
            .load()
            .await
            .map(|s| s.enabled)
            .unwrap_or(true)
    }
}

/// How the current admin signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignInKind {
    /// With Adobe ID (admin-ims's session).
    AdobeId,
    /// With a password (the integration is off).
    Password,
}
