//! Password hashing (argon2id) and the strength rule shared by the UI and the CLI.
//!
//! Each argon2 run takes about 19 MiB for its duration, so runs are bounded process-wide: one
//! per core at a time ([`HASHING`]); a caller waits at most [`QUEUE_WAIT`] for its turn and is
//! otherwise answered [`AppError::Busy`] (HTTP 503 with `Retry-After`). The runs' working
//! memory is kept and reused ([`PooledArgon2`]), so memory stays at one buffer per slot.

use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{
    self, Decimal, Ident, Output, ParamsString, PasswordHash, PasswordHasher, PasswordVerifier,
    Salt, SaltString,
};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

use crate::error::{AppError, Invalid};
use crate::platform::error::internal;

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

/// Argon2 runs at the same time at most: one per core.
static HASHING: LazyLock<Semaphore> = LazyLock::new(|| {
    Semaphore::new(std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get))
});

/// How long a caller waits for a free hashing slot before it is told to come back later.
pub const QUEUE_WAIT: Duration = Duration::from_secs(5);

/// Runs `work` (argon2) on a blocking thread once a hashing slot is free.
async fn with_hashing_slot<T: Send + 'static>(
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> Result<T, AppError> {
    with_slot_of(&HASHING, QUEUE_WAIT, work).await
}

/// Runs `work` on a blocking thread once `slots` has a permit, waiting at most `wait`.
async fn with_slot_of<T: Send + 'static>(
    slots: &'static Semaphore,
    wait: Duration,
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> Result<T, AppError> {
    let Ok(permit) = tokio::time::timeout(wait, slots.acquire()).await else {
        tracing::warn!("every password-hashing slot stayed busy; answering 503");
        return Err(AppError::Busy {
            retry_after_secs: wait.as_secs().max(1),
        });
    };
    let permit = permit.map_err(internal)?;
    // The slot goes with the work: it stays taken until argon2 ends, even if the request that
    // asked is gone by then.
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work()
    })
    .await
    .map_err(internal)?
    .map_err(internal)
}

/// Argon2's working memory, one buffer per hashing slot in use, kept for the next run.
///
/// Allocating the ~19 MiB per run, as `Argon2::hash_password` does, grew glibc's heap by about
/// a run's worth on every sign-in (the freed buffers were not reused), to gigabytes under a
/// flood; reused buffers keep it at the slot count.
static MEMORY: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

/// Runs `work` with at least `blocks` blocks of working memory from [`MEMORY`].
fn with_memory<T>(blocks: usize, work: impl FnOnce(&mut [Block]) -> T) -> T {
    let mut memory = MEMORY
        .lock()
        .expect("memory pool lock")
        .pop()
        .unwrap_or_default();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let result = work(&mut memory[..blocks]);
    MEMORY.lock().expect("memory pool lock").push(memory);
    result
}

/// Argon2 (the crate's default algorithm and parameters: argon2id, m = 19 MiB, t = 2, p = 1)
/// computed in [`MEMORY`]. Verifying comes with it (`PasswordVerifier`, constant-time compare).
struct PooledArgon2;

impl PasswordHasher for PooledArgon2 {
    type Params = Params;

    fn hash_password<'a>(
        &self,
        password: &[u8],
        salt: impl Into<Salt<'a>>,
    ) -> password_hash::Result<PasswordHash<'a>> {
        self.hash_password_customized(password, None, None, Params::default(), salt)
    }

    fn hash_password_customized<'a>(
        &self,
        password: &[u8],
        algorithm: Option<Ident<'a>>,
        version: Option<Decimal>,
        params: Params,
        salt: impl Into<Salt<'a>>,
    ) -> password_hash::Result<PasswordHash<'a>> {
        let algorithm = algorithm
            .map(Algorithm::try_from)
            .transpose()?
            .unwrap_or_default();
        let version = version
            .map(Version::try_from)
            .transpose()?
            .unwrap_or_default();
        let salt = salt.into();
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
        let argon2 = Argon2::new(algorithm, version, params.clone());
        let output_len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
        let output = Output::init_with(output_len, |out| {
            with_memory(params.block_count(), |memory| {
                argon2.hash_password_into_with_memory(password, salt_bytes, out, memory)
            })
            .map_err(Into::into)
        })?;
        Ok(PasswordHash {
            algorithm: algorithm.ident(),
            version: Some(version.into()),
            params: ParamsString::try_from(&params)?,
            salt: Some(salt),
            hash: Some(output),
        })
    }
}

/// Hashes on a blocking thread: argon2 is deliberately slow.
pub async fn hash(password: String) -> Result<String, AppError> {
    with_hashing_slot(move || {
        let salt = SaltString::generate(&mut OsRng);
        PooledArgon2
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| anyhow::anyhow!("hashing the password failed: {e}"))
    })
    .await
}

/// Verifies on a blocking thread. Without a stored hash it still does the same work, so the
/// response time does not tell whether an account exists.
pub async fn verify(password: String, stored_hash: Option<String>) -> Result<bool, AppError> {
    with_hashing_slot(move || {
        let stored = stored_hash.as_deref().unwrap_or(&DUMMY_HASH);
        let parsed = PasswordHash::new(stored)
            .map_err(|e| anyhow::anyhow!("stored password hash is malformed: {e}"))?;
        let matches = PooledArgon2
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(matches && stored_hash.is_some())
    })
    .await
}

static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    PooledArgon2
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn callers_queue_for_a_slot_and_are_told_to_come_back_later() {
        static SLOTS: Semaphore = Semaphore::const_new(1);
        let wait = Duration::from_millis(300);
        let held = SLOTS.acquire().await.unwrap();
        let queued = tokio::spawn(with_slot_of(&SLOTS, wait, || Ok(1)));
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(held);
        assert_eq!(queued.await.unwrap(), Ok(1), "a short wait is served");

        let _held = SLOTS.acquire().await.unwrap();
        let started = std::time::Instant::now();
        let refused = with_slot_of(&SLOTS, wait, || Ok(2)).await;
        assert_eq!(
            refused,
            Err(AppError::Busy {
                retry_after_secs: 1
            })
        );
        assert!(started.elapsed() >= wait);
    }

    /// Hashes stored before the memory pool (plain `Argon2::default()`) still verify, and new
    /// ones are what plain argon2 computes.
    #[test]
    fn pooled_hashes_are_plain_argon2id() {
        let salt = SaltString::generate(&mut OsRng);
        let plain = Argon2::default()
            .hash_password(b"kopec-modry-trakar-58", &salt)
            .unwrap();
        let pooled = PooledArgon2
            .hash_password(b"kopec-modry-trakar-58", &salt)
            .unwrap();
        assert_eq!(pooled.to_string(), plain.to_string());
        assert!(
            PooledArgon2
                .verify_password(b"kopec-modry-trakar-58", &plain)
                .is_ok()
        );
        assert!(
            PooledArgon2
                .verify_password(b"kopec-modry-trakar-59", &plain)
                .is_err()
        );
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
