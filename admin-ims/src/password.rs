//! Magento's random password for admin users who never type one (those
//! provisioned for an Adobe ID, those a host creates for IMS sign-in).

use ims_api::Password;
use rand::RngExt as _;

/// The characters of a random password: Magento's `[0-9a-zA-Z_-.]`.
pub const PASSWORD_ALPHABET: &[u8] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-.";

/// The length Magento gives them.
pub const PASSWORD_LEN: usize = 100;

/// A fresh password as Magento makes one for an IMS-provisioned admin: 100
/// characters from [`PASSWORD_ALPHABET`], uniformly (rejection sampling
/// over the operating system's generator through `rand::rng()`).
///
/// ```
/// let password = admin_ims::random_password();
/// assert_eq!(password.expose_secret().len(), 100);
/// assert!(password.expose_secret().bytes().all(|b| admin_ims::PASSWORD_ALPHABET.contains(&b)));
/// ```
pub fn random_password() -> Password {
    let alphabet_len = PASSWORD_ALPHABET.len();
    // The largest multiple of the alphabet's length that fits in a byte.
    let limit = 256 - 256 % alphabet_len;
    let mut out = String::with_capacity(PASSWORD_LEN);
    let mut buf = [0u8; PASSWORD_LEN * 2];
    while out.len() < PASSWORD_LEN {
        rand::rng().fill(&mut buf[..]);
        for &byte in &buf {
            let byte = usize::from(byte);
            if byte < limit
                && out.len() < PASSWORD_LEN
                && let Some(&c) = PASSWORD_ALPHABET.get(byte % alphabet_len)
            {
                out.push(char::from(c));
            }
        }
    }
    Password::new(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_follow_magentos_rule() {
        let password = random_password();
        let text = password.expose_secret();
        assert_eq!(text.len(), 100);
        assert!(text.bytes().all(|b| PASSWORD_ALPHABET.contains(&b)));
        assert_ne!(text, random_password().expose_secret());
    }
}
