//! Encryption of secrets at rest (API keys of connected accounts), and keyed hashes.
//!
//! AES-256-GCM with the configured key and a fresh random nonce per value. Stored form:
//! `nonce (12 bytes) || ciphertext+tag`. Keyed hashes (HMAC-SHA256 with the same key) let the
//! bridge recognise a value it must not keep, such as a forgotten buyer's e-mail, without
//! storing it: without the key the hash cannot be checked against guessed addresses.

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, OsRng};
use aes_gcm::{AeadCore, Aes256Gcm, Nonce};
use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::RngCore;

use crate::platform::owner_only;

const NONCE_LEN: usize = 12;

/// The 32-byte key. Its `Debug` output never shows the bytes.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

/// A random secret for a link (32 bytes, URL-safe base64 without padding).
pub fn url_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored of a link's secret: its SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl SecretKey {
    pub fn generate() -> SecretKey {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        SecretKey(bytes)
    }

    pub fn from_base64(text: &str) -> anyhow::Result<SecretKey> {
        let bytes = BASE64
            .decode(text.trim())
            .context("the key is not valid base64")?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|bytes: Vec<u8>| {
            anyhow::anyhow!("the key has {} bytes, not 32", bytes.len())
        })?;
        Ok(SecretKey(bytes))
    }

    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0)
    }

    /// Reads the key file, or — when `may_create` (nothing is encrypted with a key yet) —
    /// creates it and its folder owner-only. A key file that other users may read or change is
    /// refused, and so is a missing one while stored secrets need it: a new key would make
    /// them unreadable for good.
    pub fn load_or_create(path: &Path, may_create: bool) -> anyhow::Result<SecretKey> {
        let shown = path.display();
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let readable = owner_only::check(path)
                    .with_context(|| format!("could not read the key file {shown}"))?;
                if let Err(mode) = readable {
                    bail!(
                        "the key file {shown} (SECRET_KEY_FILE) can be read or changed by other users (mode {mode:o}); make it owner-only with `chmod 600 {shown}`"
                    );
                }
                SecretKey::from_base64(&text)
                    .with_context(|| format!("the key file {shown} is not usable"))
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound && may_create => {
                let key = SecretKey::generate();
                owner_only::create_file(path, key.to_base64().as_bytes())
                    .with_context(|| format!("could not create the key file {shown}"))?;
                tracing::info!(path = %shown, "generated a new secret key file; back it up with the database");
                Ok(key)
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => bail!(
                "the key file {shown} (SECRET_KEY_FILE) is missing, but the database holds API keys encrypted with it. Restore the file from your backup, or set SECRET_KEY to the key; a new key would make every stored API key unreadable, so none is generated"
            ),
            Err(error) => {
                Err(error).with_context(|| format!("could not read the key file {shown}"))
            }
        }
    }

    pub fn encrypt(&self, plaintext: &[u8]) -> Vec<u8> {
        let cipher = Aes256Gcm::new((&self.0).into());
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = cipher
            .encrypt(&nonce, plaintext)
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        out
    }

    /// HMAC-SHA256 of `message` under this key, for one `purpose` (hashes for different
    /// purposes never match), as lower-case hex.
    pub fn keyed_hash(&self, purpose: &str, message: &[u8]) -> String {
        use hmac::Mac;
        let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.0)
            .expect("HMAC accepts a key of any length");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(message);
        hex::encode(mac.finalize().into_bytes())
    }

    pub fn decrypt(&self, stored: &[u8]) -> anyhow::Result<Vec<u8>> {
        if stored.len() < NONCE_LEN {
            bail!("encrypted value is too short");
        }
        let (nonce, ciphertext) = stored.split_at(NONCE_LEN);
        let cipher = Aes256Gcm::new((&self.0).into());
        cipher
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| anyhow::anyhow!("encrypted value does not match the secret key"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_fresh_nonces() {
        let key = SecretKey::generate();
        let a = key.encrypt(b"api-key-123");
        let b = key.encrypt(b"api-key-123");
        assert_ne!(a, b, "each encryption uses a new nonce");
        assert_eq!(key.decrypt(&a).unwrap(), b"api-key-123");
        assert_eq!(key.decrypt(&b).unwrap(), b"api-key-123");
    }

    #[test]
    fn another_key_or_tampering_is_refused() {
        let key = SecretKey::generate();
        let mut stored = key.encrypt(b"secret");
        assert!(SecretKey::generate().decrypt(&stored).is_err());
        let last = stored.len() - 1;
        stored[last] ^= 1;
        assert!(key.decrypt(&stored).is_err());
    }

    #[test]
    fn key_file_is_created_owner_only_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/secret.key");
        let first = SecretKey::load_or_create(&path, true).unwrap();
        let second = SecretKey::load_or_create(&path, false).unwrap();
        assert_eq!(first.to_base64(), second.to_base64());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn keyed_hashes_depend_on_the_key_and_the_purpose() {
        let key = SecretKey::generate();
        let hash = key.keyed_hash("buyer", b"jana@example.cz");
        assert_eq!(hash, key.keyed_hash("buyer", b"jana@example.cz"));
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains("jana"));
        assert_ne!(hash, key.keyed_hash("other", b"jana@example.cz"));
        assert_ne!(hash, key.keyed_hash("buyer", b"petr@example.cz"));
        assert_ne!(
            hash,
            SecretKey::generate().keyed_hash("buyer", b"jana@example.cz")
        );
    }

    #[test]
    fn a_missing_key_is_not_replaced_while_secrets_need_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        let error = SecretKey::load_or_create(&path, false).unwrap_err();
        assert!(format!("{error:#}").contains("is missing"), "{error:#}");
        assert!(!path.exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        SecretKey::load_or_create(&path, true).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let error = SecretKey::load_or_create(&path, false).unwrap_err();
        assert!(format!("{error:#}").contains("chmod 600"), "{error:#}");
    }

    #[test]
    fn debug_output_hides_the_key() {
        let key = SecretKey::generate();
        assert_eq!(format!("{key:?}"), "SecretKey(..)");
    }
}
