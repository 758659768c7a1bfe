//! Integration tests: every endpoint over real HTTP against an in-process emulator.
#![allow(clippy::unwrap_used)]

mod authorize;
mod binary;
mod control;
mod discovery;
mod jwt_exchange;
mod profile;
mod robustness;
mod support;
mod token;
mod validate;
