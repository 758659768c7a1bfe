//! Integration tests: every endpoint over real HTTP against an in-process emulator.
#![allow(clippy::unwrap_used)]

mod authorize;
mod binary;
mod control;
mod discovery;
mod ims_go_exchange;
mod ims_go_register_admin;
mod ims_go_userinfo_logout;
mod jwt_exchange;
mod profile;
mod robustness;
mod support;
mod token;
mod validate;
