//! Operator operations: enable (validation, probe, save, hooks), disable,
//! status, info, and what the integration changes for password sign-in.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::{Arc, Mutex};

use admin_ims::{
    AdminIms, AdminImsConfig, AdminImsServices, EnableError, EnableRequest, IntegrationStatus,
    ProbeAnswer, ProbeProblem,
};
use ims_api::{AdminUser, AdminUserId, ClientSecret, ImsSettings, ManualClock};
use ims_emulator::{Emulator, RunningEmulator, default_seed as seed};
use support::*;
use time::OffsetDateTime;
use url::Url;

struct Operator {
    _ims: RunningEmulator,
    service: AdminIms,
    settings: Arc<MemorySettings>,
    hooks: Arc<CountingHooks>,
}

async fn operator(probe: Arc<dyn admin_ims::ImsProbe>) -> Operator {
    operator_with(Some(probe)).await
}

/// With `probe`, or with the IMS client's own (`None`): `AdminImsServices::new`
/// takes the probe from the IMS implementation.
async fn operator_with(probe: Option<Arc<dyn admin_ims::ImsProbe>>) -> Operator {
    let ims = Emulator::builder().start().await.unwrap();
    let settings = Arc::new(MemorySettings(Mutex::new(ImsSettings::default())));
    let hooks = Arc::new(CountingHooks::default());
    let services = AdminImsServices::new(
        Arc::new(ims_client(&ims, http_policy())),
        Arc::new(MemoryAdmins::default()),
        settings.clone(),
        Arc::new(ManualClock::new(OffsetDateTime::now_utc())),
    )
    .with_hooks(hooks.clone());
    let services = match probe {
        Some(probe) => services.with_probe(probe),
        None => services,
    };
    let config =
        AdminImsConfig::new(Url::parse("http://127.0.0.1:8080").unwrap(), "/admin/ims").unwrap();
    Operator {
        _ims: ims,
        service: AdminIms::new(services, config),
        settings,
        hooks,
    }
}

fn stub(status: u16, location: Option<&str>) -> Arc<StubProbe> {
    Arc::new(StubProbe {
        answer: ProbeAnswer::new(status, location.map(str::to_owned)),
        seen: Mutex::new(Vec::new()),
    })
}

/// IMS's redirect to its sign-in page for a registered client: our
/// callback nested in its `callback`, as Magento's probe expects.
const SIGN_IN: &str = "https://auth.services.adobe.com/en_US/index.html?callback=https%3A%2F%2Fims-na1.adobelogin.com%2Fims%2Fadobeid%2Femulator-web%2FAdobeID%2Fcode%3Fredirect_uri%3Dhttp%253A%252F%252F127.0.0.1%253A8080%252Fadmin%252Fims%252Fcallback";

fn request(org: &str, client: &str, secret: &str, two_factor: bool) -> EnableRequest {
    EnableRequest::new(org, client, ClientSecret::new(secret), two_factor)
}

#[tokio::test]
async fn enable_validates_input_like_magento() {
    let probe = stub(302, Some(SIGN_IN));
    let op = operator(probe.clone()).await;
    let cases = [
        (
            request("not-an-org", "client", "secret", true),
            "No valid Organization ID provided",
        ),
        (
            request(
                "A1B2C3D4E5F6A7B8C9D0E1F2@OtherOrg",
                "client",
                "secret",
                true,
            ),
            "No valid Organization ID provided",
        ),
        (
            request(seed::ORG_ID, "client.id", "secret", true),
            "No valid Client ID provided",
        ),
        (
            request(seed::ORG_ID, "", "secret", true),
            "No valid Client ID provided",
        ),
        (
            request(seed::ORG_ID, "client", "sec ret", true),
            "No valid Client Secret provided",
        ),
        (
            request(seed::ORG_ID, "client", "secret", false),
            "2FA is required when enabling the Admin Adobe IMS Module",
        ),
    ];
    for (request, message) in cases {
        let err = op.service.enable(request).await.unwrap_err();
        assert_eq!(err.to_string(), message);
    }
    assert!(probe.seen.lock().unwrap().is_empty(), "nothing probed");
    assert!(!op.settings.0.lock().unwrap().enabled);
    assert_eq!(
        op.service.status().await.unwrap(),
        IntegrationStatus::Disabled
    );
}

#[tokio::test]
async fn enable_probes_ims_then_saves_revokes_and_creates_the_role() {
    let probe = stub(302, Some(SIGN_IN));
    let op = operator(probe.clone()).await;
    // Lower case and without the suffix are accepted, as in Magento.
    let report = op
        .service
        .enable(request(
            "a1b2c3d4e5f6a7b8c9d0e1f2",
            seed::WEB_CLIENT_ID,
            "emulator-web-secret",
            true,
        ))
        .await
        .unwrap();
    assert_eq!(report.revoked_admin_tokens, 3);
    assert!(report.role_ensured);
    assert_eq!(*op.hooks.revocations.lock().unwrap(), 1);
    assert_eq!(*op.hooks.roles.lock().unwrap(), 1);

    let probed = probe.seen.lock().unwrap()[0].clone();
    let pairs: Vec<(String, String)> = probed.query_pairs().into_owned().collect();
    assert!(pairs.contains(&("client_id".into(), seed::WEB_CLIENT_ID.into())));
    assert!(pairs.contains(&(
        "redirect_uri".into(),
        "http://127.0.0.1:8080/admin/ims/callback".into()
    )));

    let saved = op.settings.0.lock().unwrap().clone();
    assert!(saved.enabled && saved.two_factor_confirmed);
    assert_eq!(saved.org_id.unwrap().with_suffix(), seed::ORG_ID);
    assert_eq!(
        saved.client_secret.unwrap().expose_secret(),
        "emulator-web-secret"
    );

    let status = op.service.status().await.unwrap();
    assert_eq!(status.to_string(), "Admin Adobe IMS integration is enabled");
    let info = op.service.info().await.unwrap();
    assert_eq!(
        info.to_string(),
        "Client ID: emulator-web\nOrganization ID: A1B2C3D4E5F6A7B8C9D0E1F2\nClient Secret configured"
    );
    assert!(!format!("{info:?}").contains("emulator-web-secret"));

    assert_eq!(
        op.service.disable().await.unwrap(),
        IntegrationStatus::Disabled
    );
    assert_eq!(
        op.service.status().await.unwrap().to_string(),
        "Admin Adobe IMS integration is disabled"
    );
}

#[tokio::test]
async fn disable_deletes_the_credentials_and_info_says_the_module_is_disabled() {
    let op = operator(stub(302, Some(SIGN_IN))).await;
    assert_eq!(
        op.service.info().await.unwrap().to_string(),
        "Module is disabled"
    );
    op.service
        .enable(request(
            seed::ORG_ID,
            seed::WEB_CLIENT_ID,
            "emulator-web-secret",
            true,
        ))
        .await
        .unwrap();
    assert!(op.service.info().await.unwrap().client_secret_configured);

    op.service.disable().await.unwrap();
    // As Magento's Config::disableModule: the flag off and the organization
    // id, client id and secret deleted.
    let saved = op.settings.0.lock().unwrap().clone();
    assert!(!saved.enabled);
    assert!(saved.client_id.is_none(), "client id kept");
    assert!(saved.client_secret.is_none(), "client secret kept");
    assert!(saved.org_id.is_none(), "organization id kept");
    assert!(!saved.two_factor_confirmed);
    let info = op.service.info().await.unwrap();
    assert!(!info.enabled && !info.client_secret_configured);
    assert_eq!(info.to_string(), "Module is disabled");
}

#[tokio::test]
async fn enable_refuses_what_the_probe_refuses() {
    for (status, location, expected) in [
        (
            302,
            Some("http://127.0.0.1:8080/admin/ims/callback?error=invalid_client&state=x"),
            "Could not connect to Adobe IMS Service: invalid_client.",
        ),
        (
            200,
            None,
            "Could not get a valid response from Adobe IMS Service: IMS answered 200 instead of a 302 redirect (is the client id registered at IMS?).",
        ),
        (
            302,
            Some("https://phishing.example/?redirect_uri=https%3A%2F%2Fphishing.example%2F"),
            "Could not get a valid response from Adobe IMS Service: the redirect_uri IMS kept is on host \"phishing.example\", not on \"127.0.0.1\".",
        ),
        (
            302,
            Some("https://auth.services.adobe.com/signin"),
            "Could not get a valid response from Adobe IMS Service: the redirect carries no redirect_uri.",
        ),
    ] {
        let op = operator(stub(status, location)).await;
        let err = op
            .service
            .enable(request(
                seed::ORG_ID,
                seed::WEB_CLIENT_ID,
                "emulator-web-secret",
                true,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), expected);
        assert!(!op.settings.0.lock().unwrap().enabled, "nothing saved");
        assert_eq!(*op.hooks.revocations.lock().unwrap(), 0);
    }
}

#[tokio::test]
async fn enable_probes_the_real_authorize_endpoint_over_http() {
    // The probe is ims-core's client itself (its one transport). The
    // emulator answers an unknown client with an error page, not a
    // redirect: enabling must fail and save nothing.
    let op = operator_with(None).await;
    let err = op
        .service
        .enable(request(seed::ORG_ID, "unknown-client", "whatever", true))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            EnableError::InvalidResponse(ProbeProblem::NotRedirected(400))
        ),
        "{err}"
    );
    assert!(!op.settings.0.lock().unwrap().enabled);

    // A registered client is redirected to IMS's sign-in with our
    // redirect_uri: enabling works.
    op.service
        .enable(request(
            seed::ORG_ID,
            seed::WEB_CLIENT_ID,
            seed::WEB_CLIENT_SECRET,
            true,
        ))
        .await
        .unwrap();
    assert!(op.settings.0.lock().unwrap().enabled);
}

#[tokio::test]
async fn an_unreachable_ims_is_told_apart_from_an_unknown_client() {
    let mut op = operator_with(None).await;
    let ims = std::mem::replace(&mut op._ims, Emulator::builder().start().await.unwrap());
    ims.shutdown().await;
    let err = op
        .service
        .enable(request(
            seed::ORG_ID,
            seed::WEB_CLIENT_ID,
            seed::WEB_CLIENT_SECRET,
            true,
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, EnableError::ImsUnreachable(_)), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("Could not reach Adobe IMS Service: "),
        "{err}"
    );
    assert!(!err.to_string().contains(seed::WEB_CLIENT_SECRET));
    assert!(!op.settings.0.lock().unwrap().enabled, "nothing saved");
    assert_eq!(*op.hooks.revocations.lock().unwrap(), 0);
}

#[tokio::test]
async fn without_a_probe_enable_refuses() {
    let ims = Emulator::builder().start().await.unwrap();
    let mut services = AdminImsServices::new(
        Arc::new(ims_client(&ims, http_policy())),
        Arc::new(MemoryAdmins::default()),
        Arc::new(MemorySettings::default()),
        Arc::new(ManualClock::new(OffsetDateTime::now_utc())),
    );
    services.probe = None;
    let config = AdminImsConfig::new(Url::parse("http://127.0.0.1:1").unwrap(), "").unwrap();
    let service = AdminIms::new(services, config);
    let err = service
        .enable(request(
            seed::ORG_ID,
            seed::WEB_CLIENT_ID,
            "emulator-web-secret",
            true,
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, EnableError::NoProbe));
}

#[tokio::test]
async fn password_sign_in_reset_and_ims_owned_fields_follow_the_integration() {
    let op = operator(stub(302, Some(SIGN_IN))).await;
    let mut user = AdminUser::new(AdminUserId(1), "mia", "member@example.com");
    user.first_name = "Mia".into();
    user.last_name = "Member".into();

    // Disabled: passwords work, fields are editable.
    assert!(op.service.refuse_password_login().await.is_ok());
    assert!(op.service.password_reset_allowed().await);
    assert!(
        op.service
            .check_profile_edit(&user, "new@example.com", "M", "M")
            .await
            .is_ok()
    );

    op.service
        .enable(request(
            seed::ORG_ID,
            seed::WEB_CLIENT_ID,
            "emulator-web-secret",
            true,
        ))
        .await
        .unwrap();
    let refused = op.service.refuse_password_login().await.unwrap_err();
    assert_eq!(refused.to_string(), "Please sign in with Adobe ID");
    assert!(!op.service.password_reset_allowed().await);
    let err = op
        .service
        .check_profile_edit(&user, "new@example.com", "Mia", "Member")
        .await
        .unwrap_err();
    assert_eq!(err.field, "email");
    assert_eq!(
        op.service
            .check_profile_edit(&user, "member@example.com", "Maria", "Member")
            .await
            .unwrap_err()
            .field,
        "first name"
    );
    // Unchanged (or only re-cased) values pass.
    assert!(
        op.service
            .check_profile_edit(&user, "MEMBER@example.com", "Mia", "Member")
            .await
            .is_ok()
    );
}
