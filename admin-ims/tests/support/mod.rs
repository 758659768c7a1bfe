//! The harness of the end-to-end tests: the emulator, in-memory host
//! stores, the axum adapter on a real port, and a cookie-keeping browser
//! that signs in through the emulator's sign-in form.
#![allow(clippy::unwrap_used, dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use admin_ims::axum::BoundedSessionStore;
use admin_ims::axum::{AdminImsWeb, SignedInAdmin};
use admin_ims::{
    AdminIms, AdminImsConfig, AdminImsServices, ImsProbe, IntegrationHooks, LoginMessages,
    ProbeAnswer,
};
use async_trait::async_trait;
use axum::Router;
use axum::http::HeaderMap;
use axum::routing::get;
use ims_api::{
    AdminMailer, AdminUser, AdminUserDirectory, AdminUserId, ClientId, ClientSecret,
    ImsEnvironment, ImsSettings, ImsSettingsStore, LockoutPolicy, LoginFailures, ManualClock,
    NewAdminUser, OrgId, UserProfileRecord, UserProfileRepository, WelcomeMail,
};
use ims_core::{HttpPolicy, ImsClient};
use ims_emulator::{Emulator, RunningEmulator, default_seed as seed};
use time::OffsetDateTime;
use tower_sessions::Session;
use url::Url;

/// The host's admin users, in memory.
#[derive(Debug, Default)]
pub struct MemoryAdmins {
    pub users: Mutex<Vec<AdminUser>>,
    pub passwords: Mutex<Vec<(AdminUserId, String)>>,
    /// The host's roles (`role_exists`); users by user name come from the
    /// trait's default, over `list`.
    pub roles: Mutex<Vec<String>>,
}

impl MemoryAdmins {
    pub fn add(&self, email: &str, role: Option<&str>) -> AdminUserId {
        let mut users = self.users.lock().unwrap();
        let id = AdminUserId(users.len() as i64 + 1);
        let mut user = AdminUser::new(id, email.split('@').next().unwrap(), email);
        user.role = role.map(str::to_owned);
        users.push(user);
        id
    }

    pub fn get(&self, id: AdminUserId) -> AdminUser {
        self.users
            .lock()
            .unwrap()
            .iter()
            .find(|u| u.id == id)
            .cloned()
            .unwrap()
    }

    pub fn update(&self, id: AdminUserId, change: impl FnOnce(&mut AdminUser)) {
        let mut users = self.users.lock().unwrap();
        change(users.iter_mut().find(|u| u.id == id).unwrap());
    }

    pub fn by_email(&self, email: &str) -> Option<AdminUser> {
        self.users
            .lock()
            .unwrap()
            .iter()
            .find(|u| loose_email(&u.email) == loose_email(email))
            .cloned()
    }
}

/// How loosely real directories match e-mail addresses: `ims-store` trims
/// Unicode whitespace and lower-cases with Unicode rules (the Kelvin sign
/// becomes `k`), and a case- and accent-insensitive SQL collation (MySQL's
/// default `utf8mb4_0900_ai_ci`, Magento's `admin_user`) takes `é` for `e`.
pub fn loose_email(email: &str) -> String {
    email
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'é' | 'è' | 'ê' => 'e',
            other => other,
        })
        .collect()
}

#[async_trait]
impl AdminUserDirectory for MemoryAdmins {
    async fn find_by_email(&self, email: &str) -> ims_api::Result<Option<AdminUser>> {
        Ok(self.by_email(email))
    }

    async fn find_by_id(&self, id: AdminUserId) -> ims_api::Result<Option<AdminUser>> {
        Ok(self
            .users
            .lock()
            .unwrap()
            .iter()
            .find(|u| u.id == id)
            .cloned())
    }

    async fn list(&self) -> ims_api::Result<Vec<AdminUser>> {
        Ok(self.users.lock().unwrap().clone())
    }

    async fn create(&self, user: &NewAdminUser) -> ims_api::Result<AdminUser> {
        let id = self.add(&user.email, user.role.as_deref());
        self.update(id, |u| {
            u.username = user.username.clone();
            u.first_name = user.first_name.clone();
            u.last_name = user.last_name.clone();
            u.is_active = user.is_active;
        });
        self.passwords
            .lock()
            .unwrap()
            .push((id, user.password.expose_secret().to_owned()));
        Ok(self.get(id))
    }

    async fn role_exists(&self, role: &str) -> ims_api::Result<bool> {
        Ok(self.roles.lock().unwrap().iter().any(|r| r == role))
    }

    async fn set_active(&self, id: AdminUserId, active: bool) -> ims_api::Result<()> {
        self.update(id, |u| u.is_active = active);
        Ok(())
    }

    async fn record_login_failure(
        &self,
        id: AdminUserId,
        policy: &LockoutPolicy,
        now: OffsetDateTime,
    ) -> ims_api::Result<LoginFailures> {
        let mut out = LoginFailures::default();
        self.update(id, |u| {
            u.login_failures = policy.record_failure(&u.login_failures, now);
            out = u.login_failures.clone();
        });
        Ok(out)
    }

    async fn reset_login_failures(&self, id: AdminUserId) -> ims_api::Result<()> {
        self.update(id, |u| u.login_failures = LoginFailures::default());
        Ok(())
    }
}

/// The welcome e-mails sent, in memory.
#[derive(Debug, Default)]
pub struct RecordingMailer(pub Mutex<Vec<WelcomeMail>>);

#[async_trait]
impl AdminMailer for RecordingMailer {
    async fn send_welcome(&self, mail: &WelcomeMail) -> ims_api::Result<()> {
        self.0.lock().unwrap().push(mail.clone());
        Ok(())
    }
}

/// The integration's settings, in memory.
#[derive(Debug, Default)]
pub struct MemorySettings(pub Mutex<ImsSettings>);

#[async_trait]
impl ImsSettingsStore for MemorySettings {
    async fn load(&self) -> ims_api::Result<ImsSettings> {
        Ok(self.0.lock().unwrap().clone())
    }

    async fn save(&self, settings: &ImsSettings) -> ims_api::Result<()> {
        *self.0.lock().unwrap() = settings.clone();
        Ok(())
    }
}

/// `adobe_user_profile`, in memory (the tests read the session's token here).
#[derive(Debug, Default)]
pub struct MemoryProfiles(pub Mutex<Vec<UserProfileRecord>>);

#[async_trait]
impl UserProfileRepository for MemoryProfiles {
    async fn save(&self, record: &UserProfileRecord) -> ims_api::Result<()> {
        let mut rows = self.0.lock().unwrap();
        rows.retain(|r| r.admin_user_id != record.admin_user_id);
        rows.push(record.clone());
        Ok(())
    }

    async fn find_by_admin(
        &self,
        admin: AdminUserId,
    ) -> ims_api::Result<Option<UserProfileRecord>> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .iter()
            .find(|r| r.admin_user_id == admin)
            .cloned())
    }

    async fn delete_by_admin(&self, admin: AdminUserId) -> ims_api::Result<bool> {
        let mut rows = self.0.lock().unwrap();
        let before = rows.len();
        rows.retain(|r| r.admin_user_id != admin);
        Ok(rows.len() != before)
    }
}

/// Counts what `enable` asks of the host.
#[derive(Debug, Default)]
pub struct CountingHooks {
    pub revocations: Mutex<u32>,
    pub roles: Mutex<u32>,
}

#[async_trait]
impl IntegrationHooks for CountingHooks {
    async fn revoke_password_admin_tokens(&self) -> ims_api::Result<u64> {
        *self.revocations.lock().unwrap() += 1;
        Ok(3)
    }

    async fn ensure_adobe_ims_role(&self) -> ims_api::Result<()> {
        *self.roles.lock().unwrap() += 1;
        Ok(())
    }
}

/// A probe that answers what it is told, and remembers the URL.
#[derive(Debug)]
pub struct StubProbe {
    pub answer: ProbeAnswer,
    pub seen: Mutex<Vec<Url>>,
}

#[async_trait]
impl ImsProbe for StubProbe {
    async fn get_without_redirects(&self, url: &Url) -> ims_api::Result<ProbeAnswer> {
        self.seen.lock().unwrap().push(url.clone());
        Ok(self.answer.clone())
    }
}

/// IMS's membership answers, with users the organization's admins removed
/// (the emulator's seed is fixed while it runs).
pub struct Membership {
    pub ims: Arc<ImsClient>,
    pub removed: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl ims_api::OrganizationReader for Membership {
    async fn organizations(
        &self,
        token: &ims_api::AccessToken,
    ) -> ims_api::Result<Vec<ims_api::Organization>> {
        self.ims.organizations(token).await
    }

    async fn is_member(&self, token: &ims_api::AccessToken, org: &OrgId) -> ims_api::Result<bool> {
        if self.removed.load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(false);
        }
        self.ims.is_member(token, org).await
    }
}

/// Everything one test needs.
pub struct Harness {
    /// Whether IMS says the member still belongs to the organization.
    pub membership: Arc<Membership>,
    pub ims: RunningEmulator,
    pub app: String,
    pub clock: Arc<ManualClock>,
    pub admins: Arc<MemoryAdmins>,
    pub settings: Arc<MemorySettings>,
    pub profiles: Arc<MemoryProfiles>,
    pub hooks: Arc<CountingHooks>,
    pub mailer: Arc<RecordingMailer>,
    pub service: Arc<AdminIms>,
    pub member_id: AdminUserId,
    pub store: BoundedSessionStore,
    /// The host's router, for in-process requests.
    pub router: Router,
}

/// What the session store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionStats {
    /// Sessions of a signed-in admin.
    pub signed_in: usize,
    /// Every other session (sign-ins in flight).
    pub pending: usize,
    /// The pending sessions' bytes.
    pub pending_bytes: usize,
}

pub fn enabled_settings() -> ImsSettings {
    ImsSettings::enabled(
        ClientId::parse(seed::WEB_CLIENT_ID).unwrap(),
        ClientSecret::new(seed::WEB_CLIENT_SECRET),
        OrgId::parse(seed::ORG_ID).unwrap(),
    )
}

/// The IMS client's policy in these tests.
pub fn http_policy() -> HttpPolicy {
    let mut policy = HttpPolicy::default();
    // Outages are answered at once: no retries, no backoff.
    policy.max_retries = 0;
    policy
}

pub fn ims_client(ims: &RunningEmulator, policy: HttpPolicy) -> ImsClient {
    ImsClient::with_policy(ImsEnvironment::custom(ims.base()).unwrap(), policy).unwrap()
}

impl Harness {
    /// The emulator, the member as an admin with a real role, the default
    /// configuration.
    pub async fn start() -> Harness {
        Harness::start_with(|_| {}, true).await
    }

    /// With a changed configuration; `member_is_admin: false` leaves the
    /// directory empty.
    pub async fn start_with(
        configure: impl FnOnce(&mut AdminImsConfig),
        member_is_admin: bool,
    ) -> Harness {
        Harness::start_with_policy(configure, member_is_admin, http_policy()).await
    }

    /// With the IMS client's timeouts and retries as well.
    pub async fn start_with_policy(
        configure: impl FnOnce(&mut AdminImsConfig),
        member_is_admin: bool,
        policy: HttpPolicy,
    ) -> Harness {
        let ims = Emulator::builder().start().await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let app_base = format!("http://{addr}");
        let mut config = AdminImsConfig::new(Url::parse(&app_base).unwrap(), "/admin/ims").unwrap();
        // The tests tell outcomes apart by their pages: detailed messages
        // (the default, Magento's generic page, is tested in messages.rs).
        config.messages = LoginMessages::detailed("Commerce");
        configure(&mut config);

        let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
        let admins = Arc::new(MemoryAdmins::default());
        let member_id = if member_is_admin {
            admins.add(seed::MEMBER_EMAIL, Some("Administrators"))
        } else {
            AdminUserId(0)
        };
        let settings = Arc::new(MemorySettings(Mutex::new(enabled_settings())));
        let profiles = Arc::new(MemoryProfiles::default());
        let hooks = Arc::new(CountingHooks::default());
        let mailer = Arc::new(RecordingMailer::default());
        let client = Arc::new(ims_client(&ims, policy));
        let membership = Arc::new(Membership {
            ims: client.clone(),
            removed: Default::default(),
        });
        let mut services =
            AdminImsServices::new(client, admins.clone(), settings.clone(), clock.clone())
                .with_user_profiles(profiles.clone())
                .with_hooks(hooks.clone())
                .with_mailer(mailer.clone());
        services.organizations = membership.clone();
        let service = Arc::new(AdminIms::new(services, config));
        let web = AdminImsWeb::new(service.clone()).with_secure_cookie(false);
        // The store the adapter's documentation shows: bounded, expiring.
        let store = web.session_store();
        let app = host_app(&web, store.clone());
        let router = app.clone();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Harness {
            membership,
            ims,
            app: app_base,
            clock,
            admins,
            settings,
            profiles,
            hooks,
            mailer,
            service,
            member_id,
            store,
            router,
        }
    }

    /// What the session store holds now.
    pub fn session_stats(&self) -> SessionStats {
        let stats = self.store.stats();
        SessionStats {
            signed_in: stats.established_sessions,
            pending: stats.pending_sessions,
            pending_bytes: stats.pending_bytes,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app)
    }

    /// The access token the session of `admin` holds (from the profile
    /// record the service keeps).
    pub fn session_token(&self, admin: AdminUserId) -> String {
        self.profiles
            .0
            .lock()
            .unwrap()
            .iter()
            .find(|r| r.admin_user_id == admin)
            .and_then(|r| r.access_token.clone())
            .unwrap()
            .expose_secret()
            .to_owned()
    }

    /// Takes IMS down for good: the emulator the service talks to stops
    /// (its address then refuses connections); `self.ims` becomes an
    /// unrelated emulator, there only to keep the struct whole.
    pub async fn take_ims_down(&mut self) {
        let spare = Emulator::builder().start().await.unwrap();
        std::mem::replace(&mut self.ims, spare).shutdown().await;
    }

    /// Advances the service's clock.
    pub fn advance(&self, secs: u64) {
        self.clock.advance(std::time::Duration::from_secs(secs));
    }

    /// Whether IMS (the emulator) still accepts `token`.
    pub async fn ims_says_valid(&self, token: &str) -> bool {
        let answer: serde_json::Value = reqwest::Client::new()
            .post(self.ims.url("/ims/validate_token/v1"))
            .form(&[
                ("type", "access_token"),
                ("client_id", seed::WEB_CLIENT_ID),
                ("token", token),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["valid"] == serde_json::Value::Bool(true)
    }
}

/// The host: a dashboard, a JSON endpoint and a sensitive action behind the
/// layer, the adapter's routes under `/admin/ims`, and the sessions.
fn host_app(web: &AdminImsWeb, store: BoundedSessionStore) -> Router {
    async fn dashboard(SignedInAdmin(admin): SignedInAdmin) -> String {
        format!("dashboard of admin {admin}")
    }
    async fn me(SignedInAdmin(admin): SignedInAdmin) -> String {
        format!("{{\"admin\":{admin}}}")
    }
    async fn new_user(
        axum::extract::State(web): axum::extract::State<AdminImsWeb>,
        SignedInAdmin(admin): SignedInAdmin,
        session: Session,
        headers: HeaderMap,
    ) -> axum::response::Response {
        use axum::response::IntoResponse;
        match web.require_reauth(&session, &headers).await {
            Ok(()) => format!("admin {admin} may create a user").into_response(),
            Err(refusal) => refusal.into_response(),
        }
    }
    /// A sensitive action that takes the proof, then fails.
    async fn failing_action(
        axum::extract::State(web): axum::extract::State<AdminImsWeb>,
        SignedInAdmin(_): SignedInAdmin,
        session: Session,
        headers: HeaderMap,
    ) -> axum::response::Response {
        use axum::response::IntoResponse;
        match web.require_reauth(&session, &headers).await {
            Ok(()) => (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "the action failed",
            )
                .into_response(),
            Err(refusal) => refusal.into_response(),
        }
    }
    let login_page = web.sign_in_button();
    // The extractor on its own: the adapter travels as an Extension.
    let standalone = Router::new()
        .route("/standalone", get(dashboard))
        .layer(axum::Extension(web.clone()));
    Router::new()
        .route("/admin", get(dashboard))
        .route("/admin/users/new", get(new_user))
        .route("/admin/users/fail", get(failing_action))
        .route("/api/me", get(me))
        .route_layer(web.require_admin())
        .route(
            "/",
            get(move || async move { axum::response::Html(login_page) }),
        )
        .with_state(web.clone())
        .merge(standalone)
        .merge(web.routes())
        .layer(web.session_layer_with_store(store))
}

/// A browser: keeps cookies, follows nothing.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(reqwest::header::LOCATION)
        .unwrap_or_else(|| panic!("no Location on a {} answer", response.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

/// Follows an IMS authorize URL like a person would: loads the sign-in page,
/// fills the form and submits it with `action` (`login` or `cancel`). The
/// answer is the emulator's redirect to our callback.
pub async fn submit_ims_form(
    browser: &reqwest::Client,
    authorize_url: &str,
    email: &str,
    password: &str,
    action: &str,
) -> String {
    let first = browser.get(authorize_url).send().await.unwrap();
    assert_eq!(first.status(), 302, "IMS answers authorize with a redirect");
    let next = location(&first);
    let base = Url::parse(authorize_url).unwrap().join(&next).unwrap();
    if base.path() != "/ims/signin" {
        // Single sign-on: the browser still has an IMS session, and IMS
        // sent it straight back to us.
        assert_eq!(action, "login", "a session skips the form");
        return next;
    }
    // IMS sent the browser on to its sign-in page.
    let page = browser.get(base.clone()).send().await.unwrap();
    assert_eq!(page.status(), 200, "the IMS sign-in page");
    let html = page.text().await.unwrap();
    let form = ims_emulator::SignInForm::parse(&html).expect("no form on the IMS page");
    let answer = browser
        .post(base.join(&form.action).unwrap())
        .form(&form.fields(email, password, action))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 302, "IMS redirects back");
    location(&answer)
}

/// What a sign-in attempt ended with.
pub struct Landing {
    /// The callback URL IMS sent the browser to.
    pub callback: String,
    /// Status of our callback's answer; when it redirected to the outcome
    /// page, that page's status.
    pub status: u16,
    /// Its Location, if a redirect (not to the outcome page).
    pub location: Option<String>,
    /// Its body (the outcome page's).
    pub body: String,
    /// The outcome page the callback redirected to (303), if it did.
    pub outcome_redirect: Option<String>,
}

/// Starts a sign-in at our `/login` (with `return_to`), signs in at IMS and
/// lands on our callback.
pub async fn sign_in(
    harness: &Harness,
    browser: &reqwest::Client,
    email: &str,
    password: &str,
    return_to: Option<&str>,
) -> Landing {
    let authorize = begin(harness, browser, return_to).await;
    let callback = submit_ims_form(browser, &authorize, email, password, "login").await;
    land(browser, &callback).await
}

/// `GET /admin/ims/login`: the IMS authorize URL it redirects to.
pub async fn begin(
    harness: &Harness,
    browser: &reqwest::Client,
    return_to: Option<&str>,
) -> String {
    let mut url = Url::parse(&harness.url("/admin/ims/login")).unwrap();
    if let Some(path) = return_to {
        url.query_pairs_mut().append_pair("return_to", path);
    }
    let answer = browser.get(url).send().await.unwrap();
    assert_eq!(answer.status(), 302, "login redirects to IMS");
    let authorize = location(&answer);
    assert!(authorize.starts_with(harness.ims.base()), "{authorize}");
    authorize
}

/// Loads a callback URL; a redirect to the outcome page is followed (the
/// callback itself always redirects: no page is ever shown at an address
/// holding the code).
pub async fn land(browser: &reqwest::Client, callback: &str) -> Landing {
    let answer = browser.get(callback).send().await.unwrap();
    let status = answer.status().as_u16();
    let location = answer
        .headers()
        .get(reqwest::header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned());
    if let Some(outcome) = location
        .as_deref()
        .filter(|l| l.starts_with("/admin/ims/outcome?"))
    {
        assert_eq!(status, 303, "the callback redirects to its outcome");
        assert!(!outcome.contains("code="), "{outcome}");
        let page = Url::parse(callback).unwrap().join(outcome).unwrap();
        let shown = browser.get(page).send().await.unwrap();
        let status = shown.status().as_u16();
        let body = shown.text().await.unwrap();
        return Landing {
            callback: callback.to_owned(),
            status,
            location: None,
            body,
            outcome_redirect: Some(outcome.to_owned()),
        };
    }
    let body = answer.text().await.unwrap();
    Landing {
        callback: callback.to_owned(),
        status,
        location,
        body,
        outcome_redirect: None,
    }
}

/// GET `path` of the app: status and body (or Location).
pub async fn visit(harness: &Harness, browser: &reqwest::Client, path: &str) -> (u16, String) {
    let answer = browser.get(harness.url(path)).send().await.unwrap();
    let status = answer.status().as_u16();
    if answer.status().is_redirection() {
        return (status, location(&answer));
    }
    (status, answer.text().await.unwrap())
}
