//! # ims-emulator
//!
//! A faithful local Adobe IMS: it speaks IMS's wire protocol closely enough
//! that Adobe's own clients would accept it, so every crate of this workspace
//! is tested against it over real HTTP, and integrators can test their apps.
//!
//! It must never be used as a production identity provider: its default seed
//! ships demo keys and passwords as labelled test fixtures.
//!
//! The server arrives with the ims-emulator issue.
