//! OpenSSL's legacy encrypted PEM (`Proc-Type: 4,ENCRYPTED`), which Node's
//! crypto (and so aio's JWT plugin) accepts for a JWT context's
//! `private_key` with its `passphrase`:
//!
//! ```text
//! -----BEGIN RSA PRIVATE KEY-----
//! Proc-Type: 4,ENCRYPTED
//! DEK-Info: AES-256-CBC,<IV in hex>
//!
//! <base64 of the CBC-encrypted PKCS#1 RSAPrivateKey>
//! -----END RSA PRIVATE KEY-----
//! ```
//!
//! The key is OpenSSL's `EVP_BytesToKey` with MD5, one round, and the first
//! 8 bytes of the IV as salt. AES-CBC is aws-lc-rs's; MD5 and DES-EDE3-CBC,
//! which aws-lc-rs does not expose in this build, are RustCrypto's `md-5`
//! and `des` (with `cbc`, already in the graph). Errors never quote the key.

use aws_lc_rs::cipher::{
    AES_128, AES_192, AES_256, DecryptionContext, PaddedBlockDecryptingKey, UnboundCipherKey,
};
use aws_lc_rs::iv::FixedLength;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockDecryptMut as _, KeyIvInit as _};
use ims_api::{Error, Passphrase};
use md5::{Digest as _, Md5};
use zeroize::Zeroizing;

/// Whether `pem` is a legacy encrypted PEM.
pub(super) fn is_encrypted(pem: &str) -> bool {
    pem.lines().any(|line| {
        line.trim()
            .strip_prefix("Proc-Type:")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("4,ENCRYPTED"))
    })
}

/// The ciphers of `DEK-Info` that are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cipher {
    Aes128,
    Aes192,
    Aes256,
    DesEde3,
}

impl Cipher {
    fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_uppercase().as_str() {
            "AES-128-CBC" => Some(Cipher::Aes128),
            "AES-192-CBC" => Some(Cipher::Aes192),
            "AES-256-CBC" => Some(Cipher::Aes256),
            "DES-EDE3-CBC" => Some(Cipher::DesEde3),
            _ => None,
        }
    }

    fn key_len(self) -> usize {
        match self {
            Cipher::Aes128 => 16,
            Cipher::Aes192 | Cipher::DesEde3 => 24,
            Cipher::Aes256 => 32,
        }
    }

    fn iv_len(self) -> usize {
        match self {
            Cipher::DesEde3 => 8,
            _ => 16,
        }
    }
}

fn invalid(detail: &str) -> Error {
    Error::Misconfigured(format!("invalid private key: {detail}"))
}

/// Decrypts a legacy encrypted `RSA PRIVATE KEY` PEM into the PKCS#1 DER of
/// the key, checked to be an RSA private key.
pub(super) fn decrypt(pem: &str, passphrase: &Passphrase) -> Result<Zeroizing<Vec<u8>>, Error> {
    let mut lines = pem.lines().map(str::trim).filter(|l| !l.is_empty());
    if lines.next() != Some("-----BEGIN RSA PRIVATE KEY-----") {
        return Err(invalid(
            "an encrypted legacy PEM must be one 'RSA PRIVATE KEY' block",
        ));
    }
    let mut dek_info = None;
    let mut body = String::new();
    let mut ended = false;
    for line in lines {
        if line == "-----END RSA PRIVATE KEY-----" {
            ended = true;
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("DEK-Info") {
                dek_info = Some(value.trim().to_owned());
            }
            continue;
        }
        body.push_str(line);
    }
    if !ended {
        return Err(invalid("the PEM block has no END line"));
    }
    let dek_info = dek_info.ok_or_else(|| invalid("the encrypted PEM has no DEK-Info"))?;
    let (cipher_name, iv_hex) = dek_info
        .split_once(',')
        .ok_or_else(|| invalid("DEK-Info must be '<cipher>,<IV in hex>'"))?;
    let cipher = Cipher::parse(cipher_name).ok_or_else(|| {
        invalid("unsupported DEK-Info cipher (AES-128/192/256-CBC and DES-EDE3-CBC are read)")
    })?;
    let iv = hex_decode(iv_hex.trim())
        .filter(|iv| iv.len() == cipher.iv_len())
        .ok_or_else(|| invalid("the DEK-Info IV is not hex of the cipher's block size"))?;
    let mut data = Zeroizing::new(
        STANDARD
            .decode(body.as_bytes())
            .map_err(|_| invalid("the encrypted PEM body is not base64"))?,
    );
    let salt = iv
        .get(..8)
        .ok_or_else(|| invalid("the DEK-Info IV is too short"))?;
    let key = bytes_to_key(
        passphrase.expose_secret().as_bytes(),
        salt,
        cipher.key_len(),
    );
    let wrong = || invalid("cannot decrypt it: wrong passphrase or damaged key");
    let plain_len = match cipher {
        Cipher::DesEde3 => cbc::Decryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
            .map_err(|_| wrong())?
            .decrypt_padded_mut::<Pkcs7>(&mut data)
            .map_err(|_| wrong())?
            .len(),
        aes => {
            let algorithm = match aes {
                Cipher::Aes128 => &AES_128,
                Cipher::Aes192 => &AES_192,
                _ => &AES_256,
            };
            let iv: [u8; 16] = iv.as_slice().try_into().map_err(|_| wrong())?;
            let key = UnboundCipherKey::new(algorithm, &key).map_err(|_| wrong())?;
            PaddedBlockDecryptingKey::cbc_pkcs7(key)
                .map_err(|_| wrong())?
                .decrypt(&mut data, DecryptionContext::Iv128(FixedLength::from(iv)))
                .map_err(|_| wrong())?
                .len()
        }
    };
    data.truncate(plain_len);
    // A wrong passphrase passes the padding check about once in 256: the
    // result must still be an RSA private key.
    aws_lc_rs::rsa::KeyPair::from_der(&data).map_err(|_| wrong())?;
    Ok(data)
}

/// OpenSSL's `EVP_BytesToKey(cipher, MD5, salt, pass, 1)`: `D_1 = MD5(pass
/// || salt)`, `D_i = MD5(D_{i-1} || pass || salt)`, concatenated to `len`.
fn bytes_to_key(passphrase: &[u8], salt: &[u8], len: usize) -> Zeroizing<Vec<u8>> {
    let mut key = Zeroizing::new(Vec::with_capacity(len + 16));
    let mut previous: Option<Zeroizing<Vec<u8>>> = None;
    while key.len() < len {
        let mut md5 = Md5::new();
        if let Some(block) = &previous {
            md5.update(block.as_slice());
        }
        md5.update(passphrase);
        md5.update(salt);
        let block = Zeroizing::new(md5.finalize().to_vec());
        key.extend_from_slice(&block);
        previous = Some(block);
    }
    key.truncate(len);
    key
}

fn hex_decode(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) || !hex.is_ascii() {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// OpenSSL's `EVP_BytesToKey` as `openssl enc -aes-256-cbc -P -md md5
    /// -S 0102030405060708 -pass pass:secret` prints it.
    #[test]
    fn bytes_to_key_matches_openssl() {
        let key = bytes_to_key(b"secret", &[1, 2, 3, 4, 5, 6, 7, 8], 32);
        assert_eq!(key.len(), 32);
        let first = Md5::digest(b"secret\x01\x02\x03\x04\x05\x06\x07\x08");
        assert_eq!(&key[..16], first.as_slice());
        let mut second = first.to_vec();
        second.extend_from_slice(b"secret\x01\x02\x03\x04\x05\x06\x07\x08");
        assert_eq!(&key[16..], Md5::digest(&second).as_slice());
    }

    #[test]
    fn malformed_blocks_are_clear_errors() {
        let pass = Passphrase::new("p");
        let head = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n";
        for (pem, expected) in [
            (
                "-----BEGIN PRIVATE KEY-----\n",
                "one 'RSA PRIVATE KEY' block",
            ),
            (
                &format!("{head}DEK-Info: AES-256-CBC,00\n\nAAAA\n"),
                "no END line",
            ),
            (
                &format!("{head}\nAAAA\n-----END RSA PRIVATE KEY-----"),
                "no DEK-Info",
            ),
            (
                &format!(
                    "{head}DEK-Info: RC2-CBC,0011223344556677\n\nAAAA\n-----END RSA PRIVATE KEY-----"
                ),
                "unsupported DEK-Info cipher",
            ),
            (
                &format!("{head}DEK-Info: AES-256-CBC,00zz\n\nAAAA\n-----END RSA PRIVATE KEY-----"),
                "IV is not hex",
            ),
            (
                &format!(
                    "{head}DEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\n!!!!\n-----END RSA PRIVATE KEY-----"
                ),
                "not base64",
            ),
            (
                &format!(
                    "{head}DEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\nAAAA\n-----END RSA PRIVATE KEY-----"
                ),
                "wrong passphrase",
            ),
            (
                &format!(
                    "{head}DEK-Info: DES-EDE3-CBC,0011223344556677\n\nAAAAAAAAAAA=\n-----END RSA PRIVATE KEY-----"
                ),
                "wrong passphrase",
            ),
        ] {
            let err = decrypt(pem, &pass).unwrap_err().to_string();
            assert!(err.contains(expected), "{expected}: {err}");
        }
        assert!(is_encrypted(head));
        assert!(!is_encrypted("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n"));
    }
}
