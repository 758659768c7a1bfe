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
        secure_cookie: bool,
        sessions: Option<KitSessionStore>,
        shared: bool,
    ) -> Web {
        let web = wire::admin_web(admin.clone(), secure_cookie);
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
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let base = url::Url::parse("http://127.0.0.1:3000/").unwrap();
    /// let kit = ims_kit::ImsKit::builder(ims_api::ImsEnvironment::Stage, base)
    /// #     .database("sqlite::memory:")
    /// #     .build()
    /// #     .await
    /// #     .unwrap();
    /// let app: axum::Router = axum::Router::new().merge(kit.admin_routes());
    /// # let _ = app;
    /// # });
    /// ```
    pub fn admin_routes<S>(&self) -> axum::Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        wire::admin_routes(&self.web.web)
    }

    /// A layer that lets only signed-in admins through (pages go to sign
    /// in, fetch/XHR requests get 401); use it as a `route_layer` of the
    /// admin's routes. Handlers take `admin_ims::axum::SignedInAdmin`.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let base = url::Url::parse("http://127.0.0.1:3000/").unwrap();
    /// let kit = ims_kit::ImsKit::builder(ims_api::ImsEnvironment::Stage, base)
    /// #     .database("sqlite::memory:")
    /// #     .build()
    /// #     .await
    /// #     .unwrap();
    /// async fn dashboard(admin: admin_ims::axum::SignedInAdmin) -> String {
    ///     format!("admin {}", admin.0)
    /// }
    /// let admin: axum::Router = axum::Router::new()
    ///     .route("/admin", axum::routing::get(dashboard))
    ///     .route_layer(kit.require_admin());
    /// # let _ = admin;
    /// # });
    /// ```
    pub fn require_admin(&self) -> RequireAdminLayer {
        self.web.web.require_admin()
    }

    /// A layer that lets only IMS tokens of active admins through; use it
    /// as a `route_layer` of the REST routes. Handlers take
    /// `webapi_ims::axum::TokenAdmin`.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let base = url::Url::parse("http://127.0.0.1:3000/").unwrap();
    /// let kit = ims_kit::ImsKit::builder(ims_api::ImsEnvironment::Stage, base)
    /// #     .database("sqlite::memory:")
    /// #     .build()
    /// #     .await
    /// #     .unwrap();
    /// async fn me(admin: webapi_ims::axum::TokenAdmin) -> String {
    ///     format!("admin {}", admin.0.admin_user_id)
    /// }
    /// let rest: axum::Router = axum::Router::new()
    ///     .route("/rest/V1/me", axum::routing::get(me))
    ///     .route_layer(kit.webapi_layer());
    /// # let _ = rest;
    /// # });
    /// ```
    pub fn webapi_layer(&self) -> ImsAuthLayer {
        wire::webapi_layer(self.authenticator.clone())
    }

    /// The session layer, outermost, over the kit's session store.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let base = url::Url::parse("http://127.0.0.1:3000/").unwrap();
    /// let kit = ims_kit::ImsKit::builder(ims_api::ImsEnvironment::Stage, base)
    /// #     .database("sqlite::memory:")
    /// #     .build()
    /// #     .await
    /// #     .unwrap();
    /// let app: axum::Router = kit.admin_routes().layer(kit.session_layer());
    /// # let _ = app;
    /// # });
    /// ```
    pub fn session_layer(&self) -> SessionManagerLayer<KitSessionStore> {
        wire::session_layer(&self.web.web, self.web.sessions.clone())
    }

    /// The session store the layer uses.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let base = url::Url::parse("http://127.0.0.1:3000/").unwrap();
    /// let kit = ims_kit::ImsKit::builder(ims_api::ImsEnvironment::Stage, base)
    /// #     .database("sqlite::memory:")
    /// #     .build()
    /// #     .await
    /// #     .unwrap();
    /// assert!(!kit.session_store().is_shared()); // SQLite: in process
    /// # });
    /// ```
    pub fn session_store(&self) -> &KitSessionStore {
        &self.web.sessions
    }

    /// admin-ims's axum adapter (paths, `require_reauth`, the sign-in
    /// button…).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let base = url::Url::parse("http://127.0.0.1:3000/").unwrap();
    /// let kit = ims_kit::ImsKit::builder(ims_api::ImsEnvironment::Stage, base)
    /// #     .database("sqlite::memory:")
    /// #     .build()
    /// #     .await
    /// #     .unwrap();
    /// assert_eq!(kit.admin_web().login_path(), "/admin/ims/login");
    /// # });
    /// ```
    pub fn admin_web(&self) -> &AdminImsWeb {
        &self.web.web
    }

    /// The "Sign in with Adobe ID" link for the host's login page.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let base = url::Url::parse("http://127.0.0.1:3000/").unwrap();
    /// let kit = ims_kit::ImsKit::builder(ims_api::ImsEnvironment::Stage, base)
    /// #     .database("sqlite::memory:")
    /// #     .build()
    /// #     .await
    /// #     .unwrap();
    /// assert!(kit.sign_in_button().contains("/admin/ims/login"));
    /// # });
    /// ```
    pub fn sign_in_button(&self) -> String {
        self.web.web.sign_in_button()
    }
}
