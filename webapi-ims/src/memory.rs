//! What the authenticator keeps in memory: accepted tokens (the hot cache)
//! and refused ones, keyed by [`Fingerprint`], each bounded in size
//! (S3-FIFO eviction, from `quick_cache`) and trusted for a limited time,
//! measured on the authenticator's [`Clock`](ims_api::Clock).
//!
//! A hot entry carries the instant until which it answers without I/O — the
//! earliest of the token's expiry, its next IMS check and the end of its
//! trust in memory — so that the warm path is one lookup and one comparison.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ims_api::TokenRejection;
use quick_cache::UnitWeighter;
use quick_cache::sync::{Cache, DefaultLifecycle};
use time::OffsetDateTime;

use crate::WebApiConfig;
use crate::fingerprint::{Fingerprint, FingerprintHash};

/// A token's SHA-256, the key of its record (Magento's
/// `access_token_hash`).
pub(crate) type Digest = [u8; 32];

/// What the hot cache remembers of an accepted token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HotEntry {
    /// The admin user the token belongs to.
    pub(crate) admin: i64,
    /// When the token expires (the earlier of its claims and IMS's word).
    pub(crate) expires_at: OffsetDateTime,
    /// When IMS last validated it.
    pub(crate) last_check: OffsetDateTime,
    /// Its SHA-256, for its record.
    pub(crate) digest: Digest,
    /// The keyed fingerprint of the e-mail address (ASCII lower-case) its
    /// admin had when the token's profile was found to match: a changed
    /// address ends the mapping.
    pub(crate) email: Fingerprint,
    /// Before this instant the entry answers from memory.
    pub(crate) fresh_until: OffsetDateTime,
    /// From this instant the record is read again (it may have been
    /// invalidated by another instance).
    pub(crate) stale_at: OffsetDateTime,
}

impl HotEntry {
    /// Whether IMS must be asked again at `now`.
    pub(crate) fn check_due(&self, now: OffsetDateTime, revalidate_after: Duration) -> bool {
        now - self.last_check >= revalidate_after
    }
}

type Map<V> =
    Cache<Fingerprint, V, UnitWeighter, FingerprintHash, DefaultLifecycle<Fingerprint, V>>;

/// The hot and refused caches.
pub(crate) struct Memory {
    hot: Map<HotEntry>,
    refused: Map<(TokenRejection, OffsetDateTime)>,
    hot_ttl: Duration,
    refused_ttl: Duration,
    revalidate_after: Duration,
    /// Bumped by every [`clear`](Self::clear).
    generation: AtomicU64,
}

fn map<V: Clone>(capacity: u64) -> Map<V> {
    let capacity = capacity.max(1);
    Cache::with(
        usize::try_from(capacity).unwrap_or(usize::MAX),
        capacity,
        UnitWeighter,
        FingerprintHash,
        DefaultLifecycle::default(),
    )
}

impl Memory {
    pub(crate) fn new(config: &WebApiConfig) -> Self {
        Memory {
            hot: map(config.hot_cache_capacity),
            refused: map(config.negative_cache_capacity),
            hot_ttl: config.hot_cache_ttl,
            refused_ttl: config.negative_cache_ttl,
            revalidate_after: config.revalidate_after,
            generation: AtomicU64::new(0),
        }
    }

    /// The entry of an accepted token, trusted or stale (see
    /// [`HotEntry::stale_at`]).
    pub(crate) fn accepted(&self, key: &Fingerprint) -> Option<HotEntry> {
        self.hot.get(key)
    }

    /// The entry of an accepted token if it answers from memory at `now`:
    /// not expired, not due for an IMS check, still trusted.
    pub(crate) fn fresh(&self, key: &Fingerprint, now: OffsetDateTime) -> Option<HotEntry> {
        self.hot.get(key).filter(|entry| now < entry.fresh_until)
    }

    /// Remembers an accepted token as of `now`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn accept(
        &self,
        key: Fingerprint,
        admin: i64,
        expires_at: OffsetDateTime,
        last_check: OffsetDateTime,
        digest: Digest,
        email: Fingerprint,
        now: OffsetDateTime,
    ) -> HotEntry {
        let stale_at = now.saturating_add(self.hot_ttl.try_into().unwrap_or(time::Duration::MAX));
        let next_check = last_check.saturating_add(
            self.revalidate_after
                .try_into()
                .unwrap_or(time::Duration::MAX),
        );
        let entry = HotEntry {
            admin,
            expires_at,
            last_check,
            digest,
            email,
            fresh_until: expires_at.min(next_check).min(stale_at),
            stale_at,
        };
        self.hot.insert(key, entry);
        entry
    }

    /// Forgets an accepted token.
    pub(crate) fn forget(&self, key: &Fingerprint) {
        self.hot.remove(key);
    }

    /// Why the token was refused, if it was within the refusal TTL.
    pub(crate) fn refusal(&self, key: &Fingerprint, now: OffsetDateTime) -> Option<TokenRejection> {
        let (rejection, until) = self.refused.get(key)?;
        if now >= until {
            self.refused.remove(key);
            return None;
        }
        Some(rejection)
    }

    /// Remembers a refusal as of `now`.
    pub(crate) fn refuse(&self, key: Fingerprint, rejection: TokenRejection, now: OffsetDateTime) {
        let until = now.saturating_add(self.refused_ttl.try_into().unwrap_or(time::Duration::MAX));
        self.refused.insert(key, (rejection, until));
    }

    /// Forgets every accepted token of `admin` and remembers it refused with
    /// `rejection`; returns how many there were.
    pub(crate) fn refuse_admin(
        &self,
        admin: i64,
        rejection: &TokenRejection,
        now: OffsetDateTime,
    ) -> usize {
        let keys: Vec<Fingerprint> = self
            .hot
            .iter()
            .filter(|(_, entry)| entry.admin == admin)
            .map(|(key, _)| key)
            .collect();
        for key in &keys {
            self.hot.remove(key);
            self.refuse(*key, rejection.clone(), now);
        }
        keys.len()
    }

    /// Forgets every accepted and refused token (the integration's client
    /// or organization changed: what was decided under the old ones no
    /// longer holds).
    ///
    /// The generation moves first: a decision still in flight under the
    /// old ones, inserted after this, is removed by
    /// [`keep_if_current`](Self::keep_if_current).
    pub(crate) fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.hot.clear();
        self.refused.clear();
    }

    /// The current generation (see [`clear`](Self::clear)).
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// After inserting `key` under `generation`: removes it again if the
    /// caches were cleared since (checked after the insert, so that a clear
    /// in between cannot be missed).
    pub(crate) fn keep_if_current(&self, key: &Fingerprint, generation: u64) {
        if self.generation() != generation {
            self.hot.remove(key);
        }
    }

    /// Accepted tokens in memory.
    pub(crate) fn accepted_len(&self) -> usize {
        self.hot.len()
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::fingerprint::Fingerprinter;

    const T0: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

    fn memory() -> (Memory, Fingerprinter) {
        let config = WebApiConfig {
            hot_cache_capacity: 100,
            hot_cache_ttl: Duration::from_secs(30),
            negative_cache_ttl: Duration::from_secs(60),
            revalidate_after: Duration::from_secs(600),
            ..WebApiConfig::default()
        };
        (Memory::new(&config), Fingerprinter::random().unwrap())
    }

    #[test]
    fn an_entry_is_fresh_until_the_earliest_of_expiry_check_and_trust() {
        let (memory, f) = memory();
        let key = f.of(b"tok").unwrap();
        let expires = T0 + time::Duration::seconds(20);
        let entry = memory.accept(key, 1, expires, T0, [0; 32], f.of(b"e").unwrap(), T0);
        assert_eq!(entry.fresh_until, expires, "expiry first");
        assert!(
            memory
                .fresh(&key, T0 + time::Duration::seconds(19))
                .is_some()
        );
        assert!(memory.fresh(&key, expires).is_none());

        let entry = memory.accept(
            key,
            1,
            T0 + time::Duration::hours(1),
            T0,
            [0; 32],
            f.of(b"e").unwrap(),
            T0,
        );
        assert_eq!(
            entry.fresh_until,
            T0 + time::Duration::seconds(30),
            "trust next"
        );
        let old_check = T0 - time::Duration::seconds(590);
        let entry = memory.accept(
            key,
            1,
            T0 + time::Duration::hours(1),
            old_check,
            [0; 32],
            f.of(b"e").unwrap(),
            T0,
        );
        assert_eq!(
            entry.fresh_until,
            T0 + time::Duration::seconds(10),
            "check next"
        );
    }

    #[test]
    fn a_stale_entry_is_not_fresh_and_a_refusal_expires() {
        let (memory, f) = memory();
        let key = f.of(b"tok").unwrap();
        let entry = memory.accept(
            key,
            1,
            T0 + time::Duration::hours(1),
            T0,
            [0; 32],
            f.of(b"e").unwrap(),
            T0,
        );
        assert_eq!(entry.stale_at, T0 + time::Duration::seconds(30));
        assert!(
            memory
                .fresh(&key, T0 + time::Duration::seconds(30))
                .is_none()
        );
        assert_eq!(
            memory.accepted(&key),
            Some(entry),
            "kept for its record's re-read"
        );

        memory.refuse(key, TokenRejection::UnknownUser, T0);
        assert!(
            memory
                .refusal(&key, T0 + time::Duration::seconds(59))
                .is_some()
        );
        assert!(
            memory
                .refusal(&key, T0 + time::Duration::seconds(60))
                .is_none()
        );
    }

    #[test]
    fn refusing_an_admin_moves_only_their_tokens() {
        let (memory, f) = memory();
        let later = T0 + time::Duration::hours(1);
        for (token, admin) in [("a1", 1), ("a2", 1), ("b1", 2)] {
            memory.accept(
                f.of(token.as_bytes()).unwrap(),
                admin,
                later,
                T0,
                [0; 32],
                f.of(b"e").unwrap(),
                T0,
            );
        }
        let revoked = TokenRejection::Invalidated("revoked".into());
        assert_eq!(memory.refuse_admin(1, &revoked, T0), 2);
        assert_eq!(memory.accepted_len(), 1);
        assert_eq!(memory.refusal(&f.of(b"a1").unwrap(), T0), Some(revoked));
        assert!(memory.fresh(&f.of(b"b1").unwrap(), T0).is_some());
    }

    #[test]
    fn an_entry_decided_before_a_clear_is_not_kept() {
        let (memory, f) = memory();
        let key = f.of(b"tok").unwrap();
        let later = T0 + time::Duration::hours(1);
        let before = memory.generation();
        memory.clear();
        memory.accept(key, 1, later, T0, [0; 32], f.of(b"e").unwrap(), T0);
        memory.keep_if_current(&key, before);
        assert!(
            memory.accepted(&key).is_none(),
            "decided under old settings"
        );
        memory.accept(key, 1, later, T0, [0; 32], f.of(b"e").unwrap(), T0);
        memory.keep_if_current(&key, memory.generation());
        assert!(memory.accepted(&key).is_some());
    }

    #[test]
    fn the_hot_cache_keeps_its_bound() {
        let (memory, f) = memory();
        let later = T0 + time::Duration::hours(1);
        for i in 0..1000 {
            let key = f.of(format!("tok {i}").as_bytes()).unwrap();
            memory.accept(key, 1, later, T0, [0; 32], f.of(b"e").unwrap(), T0);
        }
        assert!(memory.accepted_len() <= 100, "{}", memory.accepted_len());
    }
}
