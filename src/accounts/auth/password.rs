//! Password hashing (argon2id) and the strength rule shared by the UI and the CLI.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::error::Invalid;

pub const MIN_LENGTH: usize = 10;

/// Refuses empty, short and easily guessed passwords. `user_inputs` (e-mail, name) count as
/// guessable words.
pub fn check_strength(password: &str, user_inputs: &[&str]) -> Result<(), Invalid> {
    if password.is_empty() {
        return Err(Invalid::PasswordEmpty);
    }
    if password.chars().count() < MIN_LENGTH {
        return Err(Invalid::PasswordTooShort { min: MIN_LENGTH });
    }
    // Whole inputs and their parts ("jana.novakova@example.cz" → "jana", "novakova", …).
    let words: Vec<String> = user_inputs
        .iter()
        .flat_map(|input| {
            std::iter::once(input.to_lowercase()).chain(
                input
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|part| part.chars().count() >= 3)
                    .map(str::to_lowercase),
            )
        })
        .collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let estimate = zxcvbn::zxcvbn(password, &words);
    if (estimate.score() as u8) < 3 {
        return Err(Invalid::PasswordWeak);
    }
    Ok(())
}

/// Hashes on a blocking thread: argon2 is deliberately slow.
pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| anyhow::anyhow!("hashing the password failed: {e}"))
    })
    .await?
}

/// Verifies on a blocking thread. Without a stored hash it still does the same work, so the
/// response time does not tell whether an account exists.
pub async fn verify(password: String, stored_hash: Option<String>) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || {
        let stored = stored_hash.as_deref().unwrap_or(&DUMMY_HASH);
        let parsed = PasswordHash::new(stored)
            .map_err(|e| anyhow::anyhow!("stored password hash is malformed: {e}"))?;
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(matches && stored_hash.is_some())
    })
    .await?
}

static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(b"no account has this password", &salt)
        .expect("hashing a constant succeeds")
        .to_string()
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_short_and_common_passwords_are_refused() {
        assert_eq!(check_strength("", &[]), Err(Invalid::PasswordEmpty));
        assert_eq!(
            check_strength("abc123", &[]),
            Err(Invalid::PasswordTooShort { min: 10 })
        );
        assert_eq!(
            check_strength("password123", &[]),
            Err(Invalid::PasswordWeak)
        );
        assert_eq!(
            check_strength(
                "jana.novakova@example.cz",
                &["jana.novakova@example.cz", "Jana Nováková"]
            ),
            Err(Invalid::PasswordWeak)
        );
    }

    #[test]
    fn a_long_unusual_passphrase_is_accepted() {
        assert_eq!(check_strength("kopec-modry-trakař-58", &[]), Ok(()));
    }

    #[tokio::test]
    async fn hash_then_verify() {
        let stored = hash("kopec-modry-trakař-58".into()).await.unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(
            verify("kopec-modry-trakař-58".into(), Some(stored.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify("kopec-modry-trakař-59".into(), Some(stored))
                .await
                .unwrap()
        );
        assert!(
            !verify("no account has this password".into(), None)
                .await
                .unwrap()
        );
    }
}
