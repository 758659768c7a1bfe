//! The cold path under a burst: N concurrent requests (default 1000) carrying
//! one never-seen token, sent at once over loopback with reqwest to an axum
//! endpoint behind `ImsAuthLayer`, over the real stack (the emulator as IMS,
//! ims-core's client and `LocalVerifier`, ims-store on SQLite). The IMS
//! requests are counted at the emulator: the target is one validation and
//! one profile call and one organization-membership check for the whole
//! burst.
//!
//! `cargo run --release -p webapi-ims --features axum --example cold_path [-- N [INSTANCES]]`
//!
//! With `INSTANCES` > 1 (default 1), that many instances of the host share
//! one SQLite file (one pool each, as processes would), each served on its
//! own port, and the callers are spread over them in turn: the target is
//! still one validation, one profile call and one membership check for the
//! whole fleet (the first-sight lease).
//!
//! Before the burst, the server is warmed with another token (key set,
//! settings, first connections) and the emulator's counters are reset; each
//! client opens its connection beforehand on an open endpoint, so the burst
//! measures the layer's cold path rather than TCP handshakes. Prints one JSON
//! line: `{"requests":N,"instances":…,"ok":…,"statuses":{…},"validations":…,"profiles":…,"memberships":…,
//! "ims_requests":{…},"ims_total":…,"wall_ms":…}`. No token is printed.

#[path = "real_stack/mod.rs"]
mod real_stack;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::routing::get;
use ims_emulator::{MintTokenRequest, RunningEmulator, default_seed as seed};
use real_stack::{BoxError, me, real_fleet, real_stack};
use tokio::sync::Barrier;
use webapi_ims::axum::ImsAuthLayer;

async fn health() -> &'static str {
    "ok"
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let n: usize = match std::env::args().nth(1) {
        Some(arg) => arg.parse()?,
        None => 1000,
    };
    let instances: usize = match std::env::args().nth(2) {
        Some(arg) => arg.parse::<usize>()?.max(1),
        None => 1,
    };
    // One instance as before (SQLite in memory); several on one file.
    let (stack, fleet);
    let (ims, auths): (&RunningEmulator, Vec<_>) = if instances == 1 {
        stack = real_stack().await?;
        (&stack.ims, vec![stack.auth.clone()])
    } else {
        fleet = real_fleet(instances).await?;
        (&fleet.ims, fleet.instances.clone())
    };
    let mut urls = Vec::new();
    for auth in auths {
        let app = Router::new()
            .route("/rest/V1/me", get(me))
            .route_layer(ImsAuthLayer::new(auth))
            .route("/health", get(health));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move { axum::serve(listener, app).await });
        urls.push((
            format!("http://{addr}/rest/V1/me"),
            format!("http://{addr}/health"),
        ));
    }

    let warm_token = mint(ims)?;
    let cold_token = mint(ims)?;

    // Warm-up of every instance: keys, settings and the store's pool, with
    // another token.
    let http = reqwest::Client::new();
    for (me_url, _) in &urls {
        let status = http
            .get(me_url)
            .bearer_auth(&warm_token)
            .send()
            .await?
            .status();
        if !status.is_success() {
            return Err(format!("the warm-up request was answered {status}").into());
        }
    }

    // One client (one connection) per caller, connected beforehand to its
    // instance (callers take the instances in turn).
    let mut callers = Vec::with_capacity(n);
    for i in 0..n {
        callers.push((
            reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()?,
            &urls[i % urls.len()],
        ));
    }
    let mut opened = tokio::task::JoinSet::new();
    for (caller, (_, health_url)) in &callers {
        let request = caller.get(health_url).send();
        opened.spawn(async move { request.await.map(|r| r.status()) });
    }
    while let Some(result) = opened.join_next().await {
        let status = result??;
        if !status.is_success() {
            return Err(format!("opening a connection was answered {status}").into());
        }
    }
    ims.reset_stats();

    // The burst: every caller waits at the barrier, then sends at once.
    let barrier = Arc::new(Barrier::new(n + 1));
    let mut burst = tokio::task::JoinSet::new();
    for (caller, (me_url, _)) in callers {
        let barrier = barrier.clone();
        let request = caller.get(me_url).bearer_auth(&cold_token);
        burst.spawn(async move {
            barrier.wait().await;
            let answer = request.send().await;
            drop(caller);
            answer.map(|r| r.status().as_u16())
        });
    }
    barrier.wait().await;
    let started = Instant::now();
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    while let Some(result) = burst.join_next().await {
        *statuses.entry(result??).or_default() += 1;
    }
    let wall = started.elapsed();

    let stats = ims.stats();
    let ok = statuses.get(&200).copied().unwrap_or(0);
    println!(
        "{}",
        serde_json::json!({
            "requests": n,
            "instances": instances,
            "ok": ok,
            "statuses": statuses,
            "validations": stats.count("POST /ims/validate_token/v1"),
            "profiles": stats.count("GET /ims/profile/v1") + stats.count("POST /ims/profile/v1"),
            "memberships": stats
                .requests
                .iter()
                .filter(|(call, _)| call.ends_with("/membership"))
                .map(|(_, n)| n)
                .sum::<u64>(),
            "ims_requests": stats.requests,
            "ims_total": stats.total,
            "wall_ms": wall.as_secs_f64() * 1000.0,
        })
    );
    Ok(())
}

/// A new access token of the seed's member.
fn mint(ims: &RunningEmulator) -> Result<String, BoxError> {
    Ok(ims.mint_access_token(
        &MintTokenRequest::for_email(seed::MEMBER_EMAIL, seed::WEB_CLIENT_ID)
            .scope("AdobeID,openid"),
    )?)
}
