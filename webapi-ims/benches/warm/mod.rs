//! What the warm-path bench and its callgrind twin
//! (`examples/warm_path_instructions.rs`) share: the token and the two
//! handlers, so both measure the same requests.
#![allow(dead_code, unreachable_pub)]

use webapi_ims::axum::ImsAdmin;

/// An IMS-sized token (real ones are 1–3 KiB): the key of the hot cache is
/// computed over all of it on every request.
pub fn token() -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let part = |len: usize, seed: usize| -> String {
        (0..len)
            .map(|i| alphabet[(i * 7 + seed * 13) % alphabet.len()] as char)
            .collect()
    };
    format!("{}.{}.{}", part(120, 1), part(700, 2), part(342, 3))
}

pub async fn me(ImsAdmin(admin): ImsAdmin) -> String {
    format!("{{\"id\":{}}}", admin.admin_user_id)
}

/// The same work as `me` (formatting an admin id), without the layer.
pub async fn plain() -> String {
    format!("{{\"id\":{}}}", std::hint::black_box(1_i64))
}
