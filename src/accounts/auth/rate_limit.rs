//! Login throttling: after `max_failures` failed attempts within `window`, per client address
//! and per e-mail, further attempts are refused until the oldest failure leaves the window.
//!
//! An attempt is reserved before its password is checked ([`LoginRateLimiter::reserve`]): it
//! counts as a failure from that moment, so attempts running at the same time cannot all slip
//! under the limit; a success takes its reservation back. The e-mail's count is kept per
//! password (the key includes the account's `auth_version`), so a new password set by another
//! admin or on the command line starts afresh, and the caller may hold a sign-in from an
//! address the account used before to the client's limit alone ([`Scope::ClientOnly`]).
//!
//! Kept in memory, bounded: at most [`MAX_TRACKED_KEYS`] keys, the least recently used
//! forgotten first; keys are SHA-256 hashes, so no e-mail address is held. A restart forgets
//! the counters, which is acceptable for a brute-force brake.

use std::collections::VecDeque;
use std::num::NonZeroUsize;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use lru::LruCache;
use sha2::{Digest, Sha256};

/// Client addresses and e-mails remembered at most (a few hundred bytes each).
pub const MAX_TRACKED_KEYS: usize = 16_384;

type Key = [u8; 32];

pub struct LoginRateLimiter {
    max_failures: usize,
    window: Duration,
    entries: Mutex<LruCache<Key, Entry>>,
}

impl std::fmt::Debug for LoginRateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRateLimiter")
            .field("max_failures", &self.max_failures)
            .field("window", &self.window)
            .field("tracked_keys", &self.tracked_keys())
            .finish()
    }
}

#[derive(Debug, Default)]
struct Entry {
    /// Failed attempts and attempts being checked, oldest first (at most `max_failures`).
    attempts: VecDeque<DateTime<Utc>>,
    /// Client keys: the attempts refused since `since`, counted in one audit entry.
    refused: Option<RefusalTally>,
}

#[derive(Debug, Clone, Copy)]
struct RefusalTally {
    since: DateTime<Utc>,
    count: u32,
    audit_entry: Option<i64>,
}

/// The keys one login attempt is counted under.
#[derive(Debug, Clone)]
pub struct AttemptKeys {
    client: Key,
    email: Key,
}

impl AttemptKeys {
    /// `password_version`: the `auth_version` of the account with this e-mail (0 when there
    /// is none), so that a new password starts a new count.
    pub fn new(client_addr: &str, email: &str, password_version: i64) -> AttemptKeys {
        let hash = |parts: &[&[u8]]| -> Key {
            let mut hasher = Sha256::new();
            for part in parts {
                hasher.update(part);
            }
            hasher.finalize().into()
        };
        AttemptKeys {
            client: hash(&[b"client\0", client_addr.as_bytes()]),
            email: hash(&[
                b"email\0",
                email.trim().to_lowercase().as_bytes(),
                b"\0",
                &password_version.to_be_bytes(),
            ]),
        }
    }
}

/// Which limits an attempt is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The client address's and the e-mail's.
    Both,
    /// The client address's only: the account has signed in from this address before.
    ClientOnly,
}

/// An admitted attempt. It counts as a failure until it is handed back through
/// [`LoginRateLimiter::succeeded`] or [`LoginRateLimiter::release`]; dropping it keeps it counted.
#[derive(Debug)]
#[must_use = "an attempt counts as failed until it is handed back"]
pub struct Reservation {
    keys: AttemptKeys,
    scope: Scope,
    at: DateTime<Utc>,
}

/// A refused attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// Seconds until an attempt may pass again.
    pub retry_after_secs: u64,
    /// Attempts of this client refused in its current audit window, this one included.
    pub count: u32,
    /// The audit entry that counts them, once its first refusal has written it.
    pub audit_entry: Option<i64>,
}

impl LoginRateLimiter {
    pub fn new(max_failures: u32, window: std::time::Duration) -> LoginRateLimiter {
        LoginRateLimiter {
            max_failures: (max_failures as usize).max(1),
            window: Duration::from_std(window).unwrap_or(Duration::minutes(15)),
            entries: Mutex::new(LruCache::new(
                NonZeroUsize::new(MAX_TRACKED_KEYS).expect("positive"),
            )),
        }
    }

    /// Admits an attempt now and counts it at once, or refuses it (and counts the refusal).
    pub fn reserve(
        &self,
        keys: &AttemptKeys,
        scope: Scope,
        now: DateTime<Utc>,
    ) -> Result<Reservation, Refusal> {
        let mut entries = self.entries.lock().expect("limiter lock");
        let mut wait = None::<Duration>;
        for key in keys.held_to(scope) {
            if let Some(entry) = entries.get_mut(key) {
                self.prune(&mut entry.attempts, now);
                if entry.attempts.len() >= self.max_failures {
                    let oldest = entry.attempts[entry.attempts.len() - self.max_failures];
                    let until = oldest + self.window - now;
                    wait = Some(wait.map_or(until, |w| w.max(until)));
                }
            }
        }
        if let Some(wait) = wait {
            let entry = entries.get_or_insert_mut(keys.client, Entry::default);
            let tally = match entry.refused {
                Some(tally) if tally.since + self.window > now => RefusalTally {
                    count: tally.count.saturating_add(1),
                    ..tally
                },
                _ => RefusalTally {
                    since: now,
                    count: 1,
                    audit_entry: None,
                },
            };
            entry.refused = Some(tally);
            return Err(Refusal {
                retry_after_secs: wait.num_seconds().max(1) as u64,
                count: tally.count,
                audit_entry: tally.audit_entry,
            });
        }
        for key in keys.held_to(scope) {
            let entry = entries.get_or_insert_mut(*key, Entry::default);
            entry.attempts.push_back(now);
            while entry.attempts.len() > self.max_failures {
                entry.attempts.pop_front();
            }
        }
        Ok(Reservation {
            keys: keys.clone(),
            scope,
            at: now,
        })
    }

    /// Remembers the audit entry that counts this client's refusals (written by the first one);
    /// returns the count so far, which may have grown meanwhile.
    pub fn note_refusal_entry(&self, keys: &AttemptKeys, audit_entry: i64) -> u32 {
        let mut entries = self.entries.lock().expect("limiter lock");
        match entries
            .get_mut(&keys.client)
            .and_then(|e| e.refused.as_mut())
        {
            Some(tally) => {
                tally.audit_entry = Some(audit_entry);
                tally.count
            }
            None => 1,
        }
    }

    /// The attempt succeeded: it no longer counts, and (unless it was held to the client's
    /// limit alone) the e-mail's failures are cleared.
    pub fn succeeded(&self, reservation: Reservation) {
        let mut entries = self.entries.lock().expect("limiter lock");
        if reservation.scope == Scope::Both {
            entries.pop(&reservation.keys.email);
        }
        Self::take_back(&mut entries, &reservation.keys.client, reservation.at);
    }

    /// The attempt was not checked after all (the server was too busy): it no longer counts.
    pub fn release(&self, reservation: Reservation) {
        let mut entries = self.entries.lock().expect("limiter lock");
        for key in reservation.keys.held_to(reservation.scope) {
            Self::take_back(&mut entries, key, reservation.at);
        }
    }

    fn take_back(entries: &mut LruCache<Key, Entry>, key: &Key, at: DateTime<Utc>) {
        if let Some(entry) = entries.peek_mut(key)
            && let Some(index) = entry.attempts.iter().rposition(|t| *t == at)
        {
            entry.attempts.remove(index);
        }
    }

    /// How many client addresses and e-mails are remembered.
    pub fn tracked_keys(&self) -> usize {
        self.entries.lock().expect("limiter lock").len()
    }

    fn prune(&self, times: &mut VecDeque<DateTime<Utc>>, now: DateTime<Utc>) {
        while times.front().is_some_and(|t| *t <= now - self.window) {
            times.pop_front();
        }
    }
}

impl AttemptKeys {
    fn held_to(&self, scope: Scope) -> impl Iterator<Item = &Key> {
        std::iter::once(&self.client).chain((scope == Scope::Both).then_some(&self.email))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> LoginRateLimiter {
        LoginRateLimiter::new(5, std::time::Duration::from_secs(15 * 60))
    }

    fn start() -> DateTime<Utc> {
        "2026-11-29T10:00:00Z".parse().unwrap()
    }

    fn keys(client: &str, email: &str) -> AttemptKeys {
        AttemptKeys::new(client, email, 1)
    }

    /// A failed attempt: reserved and never handed back.
    fn fail(limiter: &LoginRateLimiter, keys: &AttemptKeys, now: DateTime<Utc>) {
        drop(limiter.reserve(keys, Scope::Both, now).expect("admitted"));
    }

    fn wait(limiter: &LoginRateLimiter, keys: &AttemptKeys, now: DateTime<Utc>) -> Option<u64> {
        match limiter.reserve(keys, Scope::Both, now) {
            Ok(reservation) => {
                limiter.release(reservation);
                None
            }
            Err(refusal) => Some(refusal.retry_after_secs),
        }
    }

    #[test]
    fn fifth_failure_blocks_until_the_window_passes() {
        let limiter = limiter();
        let keys = keys("10.0.0.1", "a@example.cz");
        for minute in 0..5 {
            fail(&limiter, &keys, start() + Duration::minutes(minute));
        }
        let later = start() + Duration::minutes(5);
        assert_eq!(wait(&limiter, &keys, later), Some(10 * 60));
        assert_eq!(wait(&limiter, &keys, start() + Duration::minutes(15)), None);
    }

    #[test]
    fn attempts_count_while_they_are_checked() {
        let limiter = limiter();
        let keys = keys("10.0.0.1", "a@example.cz");
        let held: Vec<Reservation> = (0..5)
            .map(|_| limiter.reserve(&keys, Scope::Both, start()).unwrap())
            .collect();
        assert!(limiter.reserve(&keys, Scope::Both, start()).is_err());
        for reservation in held {
            limiter.release(reservation);
        }
        assert_eq!(wait(&limiter, &keys, start()), None);
    }

    #[test]
    fn the_same_address_is_blocked_for_other_emails_and_vice_versa() {
        let limiter = limiter();
        for i in 0..5 {
            fail(
                &limiter,
                &keys("10.0.0.1", &format!("u{i}@example.cz")),
                start(),
            );
        }
        assert!(wait(&limiter, &keys("10.0.0.1", "new@example.cz"), start()).is_some());
        assert!(wait(&limiter, &keys("10.0.0.2", "new@example.cz"), start()).is_none());

        for i in 0..5 {
            fail(
                &limiter,
                &keys(&format!("10.1.0.{i}"), "victim@example.cz"),
                start(),
            );
        }
        let elsewhere = keys("10.9.9.9", " Victim@example.cz");
        assert!(wait(&limiter, &elsewhere, start()).is_some());
        // … but not for an address the account used before, nor after a new password.
        let known = limiter.reserve(&elsewhere, Scope::ClientOnly, start());
        assert!(known.is_ok());
        let new_password = AttemptKeys::new("10.9.9.9", "victim@example.cz", 2);
        assert!(wait(&limiter, &new_password, start()).is_none());
    }

    #[test]
    fn success_clears_the_email_counter() {
        let limiter = limiter();
        let keys_a = keys("10.0.0.1", "a@example.cz");
        for _ in 0..4 {
            fail(&limiter, &keys_a, start());
        }
        let reservation = limiter.reserve(&keys_a, Scope::Both, start()).unwrap();
        limiter.succeeded(reservation);
        let other_client = keys("10.0.0.2", "a@example.cz");
        fail(&limiter, &other_client, start());
        assert_eq!(wait(&limiter, &other_client, start()), None);
    }

    #[test]
    fn refusals_are_tallied_per_client_and_window() {
        let limiter = limiter();
        let keys = keys("10.0.0.1", "a@example.cz");
        for _ in 0..5 {
            fail(&limiter, &keys, start());
        }
        let first = limiter.reserve(&keys, Scope::Both, start()).unwrap_err();
        assert_eq!((first.count, first.audit_entry), (1, None));
        assert_eq!(limiter.note_refusal_entry(&keys, 42), 1);
        let second = limiter.reserve(&keys, Scope::Both, start()).unwrap_err();
        assert_eq!((second.count, second.audit_entry), (2, Some(42)));
        // A new window starts a new tally (and a new audit entry).
        let later = start() + Duration::minutes(15);
        for _ in 0..5 {
            fail(&limiter, &keys, later);
        }
        let next = limiter.reserve(&keys, Scope::Both, later).unwrap_err();
        assert_eq!((next.count, next.audit_entry), (1, None));
    }

    /// Issue 14, item 5: a spray of addresses cannot grow the limiter without bound, and it
    /// keeps no e-mail address in memory.
    #[test]
    fn a_spray_of_addresses_stays_within_the_bound_and_no_email_is_kept() {
        let limiter = limiter();
        for i in 0..20_000u32 {
            let [_, _, a, b] = i.to_be_bytes();
            let keys = keys(&format!("10.1.{a}.{b}"), "victim@example.cz");
            // Admitted and failed, or refused (the e-mail's limit): either is remembered.
            drop(limiter.reserve(&keys, Scope::Both, start()));
        }
        assert!(
            limiter.tracked_keys() <= 16_384,
            "{} keys",
            limiter.tracked_keys()
        );
        assert!(!format!("{limiter:?}").contains("victim"));
    }
}
