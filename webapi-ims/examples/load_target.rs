//! A load-test target: the same axum endpoint served twice, once behind
//! `webapi-ims`'s layer and once without, over the real stack (the emulator
//! as IMS, ims-core, ims-store on SQLite). `cargo xtask bench` starts it and
//! points `wrk` at both.
//!
//! It prints one line, `READY <plain addr> <protected addr> <token>`, then
//! serves until stdin closes or it is killed. The token is a demo token of
//! the emulator, minted for this run.

#[path = "real_stack/mod.rs"]
mod real_stack;

use std::io::Read as _;

use axum::Router;
use axum::routing::get;
use real_stack::{BoxError, me, real_stack};
use webapi_ims::axum::ImsAuthLayer;

/// The same work as `me` (formatting an admin id), without the layer.
async fn plain() -> String {
    format!("{{\"id\":{}}}", std::hint::black_box(1_i64))
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let stack = real_stack().await?;
    let protected = Router::new()
        .route("/rest/V1/me", get(me))
        .route_layer(ImsAuthLayer::new(stack.auth.clone()));
    let unprotected = Router::new().route("/rest/V1/me", get(plain));

    let plain_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let protected_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let token = stack.mint()?;
    println!(
        "READY {} {} {token}",
        plain_listener.local_addr()?,
        protected_listener.local_addr()?
    );
    tokio::spawn(async move { axum::serve(plain_listener, unprotected).await });
    tokio::spawn(async move { axum::serve(protected_listener, protected).await });

    // Serve until the parent closes stdin.
    tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await?;
    drop(stack);
    Ok(())
}
