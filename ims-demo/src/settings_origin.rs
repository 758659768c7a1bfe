//! Where the saved settings came from: the demo's built-in emulator or a
//! real IMS. Below both the server's wiring and the operator commands,
//! which warn when the IMS about to be used does not match.

use ims_emulator::default_seed;

/// Whether the saved settings were made for the demo's built-in emulator:
/// the demo records no origin beside them, but the server saves the
/// emulator's own client ([`default_seed::WEB_CLIENT_ID`] in
/// [`default_seed::ORG_ID`]) whenever it runs without `--ims-url`, and no
/// real integration has that client id.
fn made_for_the_emulator(settings: &ims_api::ImsSettings) -> bool {
    settings.client_id.as_ref().map(ims_api::ClientId::as_str) == Some(default_seed::WEB_CLIENT_ID)
        && settings.org_id == ims_api::OrgId::parse(default_seed::ORG_ID).ok()
}

/// A warning when the IMS about to be used does not match the one the
/// saved (enabled) settings were made for: `--ims-url` (or `IMS_URL`) with
/// settings the demo saved for its emulator (that IMS does not know the
/// emulator's client: every sign-in would fail), or the emulator with
/// settings made for a real IMS (the server replaces them with the
/// emulator's). `None` when they match, or nothing is enabled.
pub async fn settings_origin_warning(
    store: &ims_store::Store,
    ims_url: Option<&str>,
) -> Option<String> {
    let settings = ims_api::ImsSettingsStore::load(&store.settings())
        .await
        .ok()?;
    if !settings.enabled {
        return None;
    }
    let client = settings.client_id.as_ref()?.as_str().to_owned();
    match (ims_url, made_for_the_emulator(&settings)) {
        (Some(url), true) => Some(format!(
            "the saved settings were made for the demo's built-in IMS emulator (client id {client}), not for {url}: run admin:adobe-ims:enable with your integration's credentials"
        )),
        (None, false) => Some(format!(
            "the saved settings were made for a real IMS (client id {client}), and no --ims-url is given: the demo starts its emulator, and the server enables the integration against it, replacing them"
        )),
        _ => None,
    }
}
