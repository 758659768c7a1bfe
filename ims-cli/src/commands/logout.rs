//! `ims logout`: aio's `logout`. Invalidates the context's tokens at IMS
//! (both, cascading, by default; the access token only with `--no-force`)
//! and always removes them from the context, even when IMS cannot be
//! reached: signing out on this machine never depends on the network.

use ims_api::{ContextName, ContextTokens, Error, TokenCache as _, TokenProvider as _};
use serde_json::json;

use crate::App;
use crate::cli::LogoutArgs;
use crate::exit::CliError;

pub(crate) async fn run(app: &App, args: LogoutArgs) -> Result<(), CliError> {
    let name = super::login::login_context_name(app, args.context.as_deref()).await?;
    // The context must be whole and its IMS trusted before a token is sent
    // anywhere.
    app.context(&name).await?;
    let force = !args.no_force;
    let tokens = app.cache.load(&name).await?;
    let nothing_to_do = tokens.access_token.is_none() && (!force || tokens.refresh_token.is_none());
    if nothing_to_do {
        app.out.result(
            &format!("context {name} is already signed out"),
            &json!({"context": name.as_str(), "signed_out": true, "invalidated_at_ims": false, "force": force}),
        );
        return Ok(());
    }
    let invalidated = match app.provider().invalidate(&name, force).await {
        Ok(()) => true,
        // The file could not be written: removing by hand would fail alike.
        Err(err @ Error::Storage { .. }) => return Err(err.into()),
        Err(err) => {
            forget(app, &name, force, tokens).await?;
            app.out.warn(&format!(
                "IMS did not invalidate the tokens of context {name} ({err}); they were removed from the \
                 context anyway, but stay valid at IMS until they expire"
            ));
            false
        }
    };
    let what = if force {
        "access and refresh tokens"
    } else {
        "access token"
    };
    let human = if invalidated {
        format!("signed out of context {name}: its {what} were invalidated at IMS and removed")
    } else {
        format!("signed out of context {name}: its {what} were removed")
    };
    app.out.result(
        &human,
        &json!({"context": name.as_str(), "signed_out": true, "invalidated_at_ims": invalidated, "force": force}),
    );
    Ok(())
}

/// Removes the stored tokens without IMS: both with `force`, else the access
/// token (the refresh token is kept, as `--no-force` asks).
async fn forget(
    app: &App,
    name: &ContextName,
    force: bool,
    tokens: ContextTokens,
) -> Result<(), CliError> {
    if force {
        app.cache.clear(name).await?;
    } else {
        let kept = ContextTokens {
            access_token: None,
            refresh_token: tokens.refresh_token,
        };
        app.cache.store(name, &kept).await?;
    }
    Ok(())
}
