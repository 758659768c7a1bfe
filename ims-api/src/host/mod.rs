//! Contracts a host application fulfils (or takes from `ims-store`): its
//! admin users, the Web API token record, user profiles and IMS settings.

pub mod admin_user;
pub mod settings;
pub mod user_profile;
pub mod webapi_token;
