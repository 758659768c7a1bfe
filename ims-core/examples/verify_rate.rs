//! Uncached RS256 verifications per second on one thread: ims-core's
//! `LocalVerifier` (keys cached, no network), next to the bare aws-lc-rs
//! primitive on the same signatures, so the report shows our overhead over
//! the primitive. `cargo xtask bench --only verify-rate` runs it pinned to
//! one core, beside `openssl speed rsa2048`.
//!
//! `cargo run --release -p ims-core --example verify_rate [-- SECONDS [ONLY]]`
//!
//! ONLY (`local`, `parsed` or `per-call`) runs one measurement alone, for a
//! profiler (`perf record`); the others are reported as 0.
//!
//! Prints one JSON line: `{"seconds":…,"local_verifier":…,
//! "aws_lc_parsed_key":…,"aws_lc_key_per_call":…}`: verifications per second
//! of this thread's CPU time (as `openssl speed` counts user CPU time), so
//! that other load on a shared machine does not lower the figures.
//! The keys and tokens are the test fixtures of `tests/support`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::time::Duration;

use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ims_api::{AccessToken, ImsEnvironment, TokenVerifier};
use ims_core::{LocalVerifier, VerifierConfig};
use time::OffsetDateTime;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Distinct tokens used in turn (the verifier caches no verdict anyway).
const TOKENS: usize = 64;

/// CPU time this thread has run (`/proc/thread-self/schedstat`, in ns): on
/// a shared machine, the rate per CPU second is what `openssl speed` reports
/// too (it measures user CPU time unless given `-elapsed`).
fn thread_cpu() -> Result<Duration, BoxError> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat")?;
    let nanos = text
        .split_whitespace()
        .next()
        .ok_or("an empty /proc/thread-self/schedstat")?
        .parse()?;
    Ok(Duration::from_nanos(nanos))
}

/// Calls `one(i)` for `i = 0, 1, …` until this thread has run `seconds` of
/// CPU time; calls per CPU second.
fn rate(seconds: f64, mut one: impl FnMut(usize) -> Result<(), BoxError>) -> Result<f64, BoxError> {
    let budget = Duration::from_secs_f64(seconds);
    let started = thread_cpu()?;
    let mut calls = 0usize;
    loop {
        // Read the clock every 256 calls, not every call.
        for _ in 0..256 {
            one(calls)?;
            calls += 1;
        }
        let elapsed = thread_cpu()? - started;
        if elapsed >= budget {
            // Counts stay far below 2^52: the conversion is exact.
            #[allow(clippy::cast_precision_loss)]
            return Ok(calls as f64 / elapsed.as_secs_f64());
        }
    }
}

fn main() -> Result<(), BoxError> {
    let seconds: f64 = match std::env::args().nth(1) {
        Some(arg) => arg.parse()?,
        None => 3.0,
    };
    // One thread: the verifier's futures complete without waiting once the
    // keys are cached.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let key = support::TestKey::new("k1", support::K1_PEM);
    let (server, verifier) = runtime.block_on(async {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/ims/keys"))
            .respond_with(ResponseTemplate::new(200).set_body_json(support::jwks(&[&key])))
            .mount(&server)
            .await;
        let env = ImsEnvironment::custom(&server.uri())?;
        let verifier = LocalVerifier::new(env, VerifierConfig::default())?;
        Ok::<_, BoxError>((server, verifier))
    })?;
    let tokens: Vec<AccessToken> = (0..TOKENS)
        .map(|i| {
            let mut claims = support::access_claims(OffsetDateTime::now_utc());
            claims["id"] = serde_json::json!(format!("token-{i}"));
            AccessToken::new(key.token(&claims))
        })
        .collect();
    // Loads the keys once; no request after this one.
    runtime.block_on(verifier.verify(&tokens[0]))?;
    drop(server);

    let only = std::env::args().nth(2);
    let runs = |what: &str| only.as_deref().is_none_or(|only| only == what);
    let local_verifier = if !runs("local") {
        0.0
    } else {
        rate(seconds, |i| {
            let token = &tokens[i % TOKENS];
            black_box(runtime.block_on(verifier.verify(token))?);
            Ok(())
        })?
    };

    // The same signed bytes and signatures, for the primitive alone.
    let signed: Vec<(Vec<u8>, Vec<u8>)> = tokens
        .iter()
        .map(|token| {
            let text = token.expose_secret();
            let (message, signature) = text.rsplit_once('.').ok_or("a token without dots")?;
            Ok((
                message.as_bytes().to_vec(),
                URL_SAFE_NO_PAD.decode(signature)?,
            ))
        })
        .collect::<Result<_, BoxError>>()?;
    let component = |name: &str| -> Result<Vec<u8>, BoxError> {
        let text = key.jwk[name].as_str().ok_or("a JWK without n or e")?;
        Ok(URL_SAFE_NO_PAD.decode(text)?)
    };
    let (n, e) = (component("n")?, component("e")?);
    let components = RsaPublicKeyComponents { n: &n, e: &e };
    let parsed: ParsedPublicKey = components.to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)?;

    let aws_lc_parsed_key = if !runs("parsed") {
        0.0
    } else {
        rate(seconds, |i| {
            let (message, signature) = &signed[i % TOKENS];
            parsed
                .verify_sig(black_box(message), black_box(signature))
                .map_err(|_| "aws-lc-rs refused a good signature")?;
            Ok(())
        })?
    };
    // What jsonwebtoken does for a JWK key: the key built from (n, e) on
    // every verification.
    let aws_lc_key_per_call = if !runs("per-call") {
        0.0
    } else {
        rate(seconds, |i| {
            let (message, signature) = &signed[i % TOKENS];
            components
                .verify(
                    &RSA_PKCS1_2048_8192_SHA256,
                    black_box(message),
                    black_box(signature),
                )
                .map_err(|_| "aws-lc-rs refused a good signature")?;
            Ok(())
        })?
    };

    println!(
        "{}",
        serde_json::json!({
            "seconds": seconds,
            "local_verifier": local_verifier.round(),
            "aws_lc_parsed_key": aws_lc_parsed_key.round(),
            "aws_lc_key_per_call": aws_lc_key_per_call.round(),
        })
    );
    Ok(())
}
