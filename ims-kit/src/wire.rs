//! Every call into admin-ims's and webapi-ims's constructors, in one place:
//! when their constructors change, this file is the one to adapt.

use std::sync::Arc;

use admin_ims::{AdminIms, AdminImsConfig, AdminImsServices};
use ims_api::{
    AdminUserDirectory, AuthorizeUrlBuilder, ChangeFeed, Clock, ImsProbe, ImsSettingsStore,
    OrganizationReader, ProfileReader, TokenGrants, TokenRevoker, TokenValidator, TokenVerifier,
    UserProfileRepository, WebApiTokenRepository,
};
use url::Url;
use webapi_ims::{ChangeFollower, WebApiAuthenticator, WebApiConfig, WebApiServices};

use crate::KitError;

/// Builds admin-ims's services over the host's parts.
type AdminServicesFn = dyn Fn(Arc<dyn AdminUserDirectory>, Arc<dyn ImsSettingsStore>, Arc<dyn Clock>) -> AdminImsServices
    + Send
    + Sync;

/// Builds webapi-ims's services over the verifier and the host's parts.
type WebApiServicesFn = dyn Fn(
        Arc<dyn TokenVerifier>,
        Arc<dyn AdminUserDirectory>,
        Arc<dyn WebApiTokenRepository>,
        Arc<dyn ImsSettingsStore>,
    ) -> WebApiServices
    + Send
    + Sync;

/// The IMS side: one implementation of every IMS trait, kept as the
/// constructors admin-ims's and webapi-ims's generic `new`s need.
#[derive(Clone)]
pub(crate) struct ImsSide {
    admin_services: Arc<AdminServicesFn>,
    webapi_services: Arc<WebApiServicesFn>,
}

impl ImsSide {
    /// The IMS side of `ims`.
    pub(crate) fn of<I>(ims: Arc<I>) -> Self
    where
        I: AuthorizeUrlBuilder
            + TokenGrants
            + TokenValidator
            + TokenRevoker
            + ProfileReader
            + OrganizationReader
            + ImsProbe
            + 'static,
    {
        let for_admin = ims.clone();
        ImsSide {
            admin_services: Arc::new(move |admins, settings, clock| {
                AdminImsServices::new(for_admin.clone(), admins, settings, clock)
            }),
            webapi_services: Arc::new(move |verifier, admins, tokens, settings| {
                WebApiServices::new(ims.clone(), verifier, admins, tokens, settings)
            }),
        }
    }
}

/// The host side, chosen by the builder.
pub(crate) struct HostSide {
    pub(crate) admins: Arc<dyn AdminUserDirectory>,
    pub(crate) tokens: Arc<dyn WebApiTokenRepository>,
    pub(crate) settings: Arc<dyn ImsSettingsStore>,
    pub(crate) user_profiles: Option<Arc<dyn UserProfileRepository>>,
    pub(crate) clock: Arc<dyn Clock>,
}

/// admin-ims's configuration: callbacks under `base` + `mount_prefix`.
pub(crate) fn admin_config(base: Url, mount_prefix: &str) -> Result<AdminImsConfig, KitError> {
    AdminImsConfig::new(base, mount_prefix).map_err(KitError::Config)
}

/// The admin sign-in service.
pub(crate) fn admin_service(ims: &ImsSide, host: &HostSide, config: AdminImsConfig) -> AdminIms {
    let mut services = (ims.admin_services)(
        host.admins.clone(),
        host.settings.clone(),
        host.clock.clone(),
    );
    if let Some(profiles) = &host.user_profiles {
        services = services.with_user_profiles(profiles.clone());
    }
    AdminIms::new(services, config)
}

/// The Web API authenticator.
pub(crate) fn authenticator(
    ims: &ImsSide,
    verifier: Arc<dyn TokenVerifier>,
    host: &HostSide,
    config: WebApiConfig,
) -> WebApiAuthenticator {
    let services = (ims.webapi_services)(
        verifier,
        host.admins.clone(),
        host.tokens.clone(),
        host.settings.clone(),
    )
    .with_clock(host.clock.clone());
    WebApiAuthenticator::new(services, config)
}

/// Starts following `feed`.
pub(crate) fn follow(
    authenticator: &Arc<WebApiAuthenticator>,
    feed: Arc<dyn ChangeFeed>,
) -> Result<ChangeFollower, KitError> {
    authenticator.follow_changes(feed).map_err(KitError::Follow)
}

/// The axum adapter of the admin service.
#[cfg(feature = "axum")]
pub(crate) fn admin_web(
    service: Arc<AdminIms>,
    secure_cookie: bool,
) -> admin_ims::axum::AdminImsWeb {
    admin_ims::axum::AdminImsWeb::new(service).with_secure_cookie(secure_cookie)
}

/// admin-ims's routes, already under their mount prefix.
#[cfg(feature = "axum")]
pub(crate) fn admin_routes<S>(web: &admin_ims::axum::AdminImsWeb) -> axum::Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    web.routes()
}

/// The session layer over `store`.
#[cfg(feature = "axum")]
pub(crate) fn session_layer(
    web: &admin_ims::axum::AdminImsWeb,
    store: crate::KitSessionStore,
) -> tower_sessions::SessionManagerLayer<crate::KitSessionStore> {
    web.session_layer_with_store(store)
}

/// The in-memory, bounded session store.
#[cfg(feature = "axum")]
pub(crate) fn memory_sessions(
    web: &admin_ims::axum::AdminImsWeb,
) -> admin_ims::axum::BoundedSessionStore {
    web.session_store()
}

/// The database's shared session store, with its sweep of expired rows.
#[cfg(feature = "axum")]
pub(crate) fn shared_sessions(
    store: &ims_store::Store,
    web: &admin_ims::axum::AdminImsWeb,
) -> (ims_store::SqlSessionStore, ims_store::SessionSweep) {
    let limits =
        ims_api::SessionLimits::default().with_pending_ttl(web.service().config().state_ttl);
    let sessions = store
        .sessions(ims_store::PendingRule::new(
            admin_ims::axum::is_pending_session,
        ))
        .with_limits(limits);
    let sweep = sessions.spawn_sweep(crate::SESSION_SWEEP_PERIOD);
    (sessions, sweep)
}

/// The Web API's axum layer.
#[cfg(feature = "axum")]
pub(crate) fn webapi_layer(
    authenticator: Arc<WebApiAuthenticator>,
) -> webapi_ims::axum::ImsAuthLayer {
    webapi_ims::axum::ImsAuthLayer::new(authenticator)
}

/// The Web API's actix-web middleware.
#[cfg(feature = "actix")]
pub(crate) fn webapi_middleware(
    authenticator: Arc<WebApiAuthenticator>,
) -> webapi_ims::actix::ImsAuth {
    webapi_ims::actix::ImsAuth::new(authenticator)
}
