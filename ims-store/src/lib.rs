//! # ims-store
//!
//! sqlx repositories for the host-side tables of the IMS integration:
//! `admin_user` (a reference table for hosts without their own users),
//! `admin_adobe_ims_webapi`, `adobe_user_profile`, the IMS settings and the
//! shared token store of the token provider. SQLite is embedded by default;
//! PostgreSQL and MySQL/MariaDB serve hosts that run several instances.
//!
//! Each repository implements a host-side trait of [`ims_api`].
//!
//! ## What this crate must never do
//!
//! - Depend on `admin-ims` or `webapi-ims`: they use this crate only through
//!   `ims-api` traits that the host wires in.
//! - Store a client secret or an access token unencrypted, or keep the
//!   encryption key beside the data.
//!
//! The repositories arrive with the webapi-ims and ims-store issue.

pub use ims_api;
