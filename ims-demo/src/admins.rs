//! The demo's admin users: the roles it assigns and Magento's random
//! password for admins who sign in with Adobe ID. Below `wiring` and the
//! pages, which both use them.

use ims_api::Password;

/// The role the demo gives the admins it creates: any role other than
/// none or "Adobe Ims" grants the whole (small) admin area.
pub const ADMIN_ROLE: &str = "Administrators";

/// The roles the demo has, with what each grants: [`ADMIN_ROLE`] and
/// Magento's permission-less "Adobe Ims" role. Any other name would still
/// grant the whole admin (only none and "Adobe Ims" grant nothing), so
/// every place that assigns a role accepts these names only, spelled
/// exactly ([`is_known_role`]).
pub const ROLES: [(&str, &str); 2] = [
    (ADMIN_ROLE, "Administrators — the whole admin"),
    (ims_api::ADOBE_IMS_ROLE, "Adobe Ims — no permissions"),
];

/// Whether `role` is one of the demo's [`ROLES`], spelled exactly.
pub fn is_known_role(role: &str) -> bool {
    ROLES.iter().any(|(name, _)| *name == role)
}

/// Magento's password for admins who sign in with Adobe ID: admin-ims's
/// (100 random characters of `[0-9a-zA-Z_-.]`).
pub(crate) fn random_password() -> Password {
    admin_ims::random_password()
}
