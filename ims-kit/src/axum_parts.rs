//! The axum side of the kit (feature `axum`).

use std::sync::Arc;

use admin_ims::AdminIms;
use admin_ims::axum::{AdminImsWeb, RequireAdminLayer};
use ims_store::{SessionSweep, Store};
use tower_sessions::SessionManagerLayer;
use webapi_ims::axum::ImsAuthLayer;

use crate::{ImsKit, KitSessionStore, wire};

/// The admin adapter and the sessions.
#[derive(Debug, Clone)]
pub(crate) struct Web {
    web: AdminImsWeb,
    sessions: KitSessionStore,
    _sweep: Option<Arc<SessionSweep>>,
}

impl Web {
    pub(crate) fn new(
        store: &Store,
        admin: &Arc<AdminIms>,
        mount_prefix: &str,
        secure_cookie: bool,
        sessions: Option<KitSessionStore>,
        shared: bool,
    ) -> Web {
        let web = wire::admin_web(admin.clone(), mount_prefix, secure_cookie);
        let (sessions, sweep) = match sessions {
            Some(sessions) => (sessions, None),
            None if shared => {
                let (sessions, sweep) = wire::shared_sessions(store, &web);
                (KitSessionStore::Shared(sessions), Some(Arc::new(sweep)))
            }
            None => (KitSessionStore::Memory(wire::memory_sessions(&web)), None),
        };
        Web {
            web,
            sessions,
            _sweep: sweep,
        }
    }
}

impl ImsKit {
    /// admin-ims's routes under the mount prefix (`…/login`,
    /// `…/callback`, `…/reauth`, `…/reauth/callback`, `…/logout`): merge
    /// them into the app.
    pub fn admin_routes<S>(&self) -> axum::Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        wire::admin_routes(&self.web.web, &self.mount_prefix)
    }

    /// A layer that lets only signed-in admins through (pages go to sign
    /// in, fetch/XHR requests get 401); use it as a `route_layer` of the
    /// admin's routes. Handlers take `admin_ims::axum::SignedInAdmin`.
    pub fn require_admin(&self) -> RequireAdminLayer {
        self.web.web.require_admin()
    }

    /// A layer that lets only IMS tokens of active admins through; use it
    /// as a `route_layer` of the REST routes. Handlers take
    /// `webapi_ims::axum::ImsAdmin`.
    pub fn webapi_layer(&self) -> ImsAuthLayer {
        wire::webapi_layer(self.authenticator.clone())
    }

    /// The session layer, outermost, over the kit's session store.
    pub fn session_layer(&self) -> SessionManagerLayer<KitSessionStore> {
        wire::session_layer(&self.web.web, self.web.sessions.clone())
    }

    /// The session store the layer uses.
    pub fn session_store(&self) -> &KitSessionStore {
        &self.web.sessions
    }

    /// admin-ims's axum adapter (paths, `require_reauth`, the sign-in
    /// button…).
    pub fn admin_web(&self) -> &AdminImsWeb {
        &self.web.web
    }

    /// The "Sign in with Adobe ID" link for the host's login page.
    pub fn sign_in_button(&self) -> String {
        self.web.web.sign_in_button()
    }
}
