//! What the authenticator keeps in memory: accepted tokens (the hot cache)
//! and refused ones, keyed by [`Fingerprint`], each bounded in size
//! (S3-FIFO eviction, from `quick_cache`) and trusted for a limited time,
//! measured on the authenticator's [`Clock`](ims_api::Clock).
//!
//! A hot entry carries the instant until which it answers without I/O — the
//! earliest of the token's expiry, its next IMS check and the end of its
//! trust in memory — so that the warm path is one lookup and one comparison.
//!
//! When the authenticator follows a change feed, the [`FeedState`] says
//! how far entries are trusted: an entry read before the last
//! "everything may have changed" (a new epoch) is stale, and while the
//! feed is lost an entry is trusted only `unfollowed_reread` after it was
//! read. The warm path reads that state with one atomic load. An admin's
//! entries are found through an index ([`AdminIndex`]), so that forgetting
//! them costs their number, not the cache's size.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ims_api::{AdminUser, TokenRejection};
use quick_cache::sync::{Cache, DefaultLifecycle};
use quick_cache::{Lifecycle, UnitWeighter};
use time::OffsetDateTime;

use crate::WebApiConfig;
use crate::admin_index::AdminIndex;
use crate::fingerprint::{Fingerprint, FingerprintHash};

/// A token's SHA-256, the key of its record (Magento's
/// `access_token_hash`).
pub(crate) type Digest = [u8; 32];

/// What the hot cache remembers of an accepted token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HotEntry {
    /// The admin user the token belongs to.
    pub(crate) admin: i64,
    /// That admin as the host's directory gave them when the entry was
    /// read (handlers answer from it: see [`crate::Authenticated::admin`]).
    pub(crate) profile: Arc<AdminUser>,
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
    /// While the change feed is lost, from this instant the record is read
    /// again (`unfollowed_reread` after it was read).
    pub(crate) reread_at: OffsetDateTime,
    /// The feed epoch it was read in: an entry of an older epoch is stale.
    pub(crate) epoch: u64,
}

impl HotEntry {
    /// Whether IMS must be asked again at `now`.
    pub(crate) fn check_due(&self, now: OffsetDateTime, revalidate_after: Duration) -> bool {
        now - self.last_check >= revalidate_after
    }
}

type Map<V> =
    Cache<Fingerprint, V, UnitWeighter, FingerprintHash, DefaultLifecycle<Fingerprint, V>>;

/// The hot cache: its evictions are reported, so that the admin index
/// forgets them.
type HotMap = Cache<Fingerprint, HotEntry, UnitWeighter, FingerprintHash, Evictions>;

/// Collects the hot cache's evictions during an insert (under the cache's
/// shard lock, so only collected; [`Memory::accept`] unindexes them after).
#[derive(Debug, Clone, Copy, Default)]
struct Evictions;

impl Lifecycle<Fingerprint, HotEntry> for Evictions {
    type RequestState = Vec<(Fingerprint, i64)>;

    fn begin_request(&self) -> Self::RequestState {
        Vec::new()
    }

    fn on_evict(&self, state: &mut Self::RequestState, key: Fingerprint, val: HotEntry) {
        state.push((key, val.admin));
    }
}

/// How far the caches are trusted, as the change feed (if any) says: an
/// epoch, bumped whenever everything may have changed, and whether the
/// feed is lost. One `u64` (epoch × 2 + lost), so that the warm path reads
/// it with one atomic load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FeedState(u64);

impl FeedState {
    /// The epoch: what was read in an older one is stale.
    pub(crate) fn epoch(self) -> u64 {
        self.0 >> 1
    }

    /// Whether the feed is lost (or not yet resumed): nothing is trusted
    /// longer than `unfollowed_reread`.
    pub(crate) fn lost(self) -> bool {
        self.0 & 1 == 1
    }

    /// Whether something read in `epoch`, trusted until `stale_at` (or, while
    /// the feed is lost, until `reread_at`), is trusted at `now`.
    pub(crate) fn trusts(
        self,
        epoch: u64,
        stale_at: OffsetDateTime,
        reread_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> bool {
        epoch == self.epoch() && now < stale_at && (!self.lost() || now < reread_at)
    }
}

/// A remembered refusal.
#[derive(Debug, Clone)]
struct Refusal {
    rejection: TokenRejection,
    /// Remembered before this instant.
    until: OffsetDateTime,
    /// For a refusal because of the state of an admin (locked, inactive,
    /// without a role, gone): the admin, and the count of staling events
    /// when it was decided. A change of that admin reported later ends it
    /// (it may be an unlock).
    admin: Option<(i64, u64)>,
}

/// The hot and refused caches.
pub(crate) struct Memory {
    hot: HotMap,
    refused: Map<Refusal>,
    /// The count of staling events at the last change of each admin the
    /// feed reported (bounded by the host's admins).
    admin_changes: Mutex<HashMap<i64, u64>>,
    /// The hot cache's keys by admin.
    by_admin: AdminIndex,
    /// The last profile read of each admin with an accepted token, shared
    /// by all their entries (one copy per admin, not per token; bounded by
    /// the host's admins).
    profiles: Mutex<HashMap<i64, Arc<AdminUser>>>,
    hot_ttl: Duration,
    refused_ttl: Duration,
    revalidate_after: Duration,
    /// How long an entry is trusted while the feed is lost.
    reread: Duration,
    /// Bumped by every [`clear`](Self::clear).
    generation: AtomicU64,
    /// The [`FeedState`].
    feed: AtomicU64,
    /// Bumped by every feed event that makes entries stale, before it does:
    /// a decision in flight across one is not trusted (see
    /// [`settle`](Self::settle)).
    changes: AtomicU64,
}

/// A cache of at most `capacity` entries (at least one), keyed by
/// fingerprint, with this `lifecycle`.
fn bounded<V: Clone, L: Lifecycle<Fingerprint, V> + Clone>(
    capacity: u64,
    lifecycle: L,
) -> Cache<Fingerprint, V, UnitWeighter, FingerprintHash, L> {
    let capacity = capacity.max(1);
    Cache::with(
        usize::try_from(capacity).unwrap_or(usize::MAX),
        capacity,
        UnitWeighter,
        FingerprintHash,
        lifecycle,
    )
}

/// `now` plus `duration`, saturating.
fn after(now: OffsetDateTime, duration: Duration) -> OffsetDateTime {
    now.saturating_add(duration.try_into().unwrap_or(time::Duration::MAX))
}

impl Memory {
    pub(crate) fn new(config: &WebApiConfig) -> Self {
        Memory {
            hot: bounded(config.hot_cache_capacity, Evictions),
            refused: bounded(config.negative_cache_capacity, DefaultLifecycle::default()),
            admin_changes: Mutex::new(HashMap::new()),
            by_admin: AdminIndex::new(),
            profiles: Mutex::new(HashMap::new()),
            hot_ttl: config.hot_cache_ttl,
            refused_ttl: config.negative_cache_ttl,
            revalidate_after: config.revalidate_after,
            reread: config.unfollowed_reread,
            generation: AtomicU64::new(0),
            feed: AtomicU64::new(0),
            changes: AtomicU64::new(0),
        }
    }

    /// The entry of an accepted token, trusted or stale (see
    /// [`trusted`](Self::trusted)).
    pub(crate) fn accepted(&self, key: &Fingerprint) -> Option<HotEntry> {
        self.hot.get(key)
    }

    /// Whether `entry` is trusted at `now` without reading its record again:
    /// not older than `hot_cache_ttl`, read in the current feed epoch, and,
    /// while the feed is lost, not older than `unfollowed_reread`.
    pub(crate) fn trusted(&self, entry: &HotEntry, now: OffsetDateTime) -> bool {
        self.feed_state()
            .trusts(entry.epoch, entry.stale_at, entry.reread_at, now)
    }

    /// The entry of an accepted token if it answers from memory at `now`
    /// under `feed` (read once by the caller): not expired, not due for an
    /// IMS check, still trusted.
    pub(crate) fn fresh(
        &self,
        key: &Fingerprint,
        now: OffsetDateTime,
        feed: FeedState,
    ) -> Option<HotEntry> {
        self.hot
            .get(key)
            .filter(|entry| feed.trusts(entry.epoch, entry.fresh_until, entry.reread_at, now))
    }

    /// How far the caches are trusted (one atomic load).
    pub(crate) fn feed_state(&self) -> FeedState {
        FeedState(self.feed.load(Ordering::Acquire))
    }

    /// The feed is lost (or not yet resumed): from now on nothing is trusted
    /// longer than `unfollowed_reread` after it was read.
    pub(crate) fn lose_feed(&self) {
        self.feed.fetch_or(1, Ordering::AcqRel);
    }

    /// Everything may have changed: every entry read so far (and every
    /// decision in flight) is stale, in O(1). With `resumed`, the feed is
    /// trusted again; without, a lost feed stays lost.
    pub(crate) fn stale_all(&self, resumed: bool) {
        self.changes.fetch_add(1, Ordering::AcqRel);
        // The epoch lives in the upper 63 bits: it never wraps in practice.
        let _ = self
            .feed
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |state| {
                let next = (state | 1).wrapping_add(1);
                Some(if resumed { next } else { next | (state & 1) })
            });
    }

    /// Something about `admin` changed: their entries are stale (read again,
    /// from the host's storage, on their next request; not refused: the
    /// change may be an unlock), and so is any decision in flight. Returns
    /// how many entries there were.
    pub(crate) fn stale_admin(&self, admin: i64) -> usize {
        let changes = self.changes.fetch_add(1, Ordering::AcqRel) + 1;
        self.admin_changes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(admin, changes);
        let mut staled = 0;
        for key in self.by_admin.keys_of(admin) {
            if let Some(entry) = self.hot.peek(&key).filter(|entry| entry.admin == admin) {
                // Replaces only an entry still there: a forgotten one stays
                // forgotten.
                if self.hot.replace(key, stale(entry), true).is_ok() {
                    staled += 1;
                }
            } else {
                self.by_admin
                    .remove_unless(key, admin, |key| self.holds(key, admin));
            }
        }
        staled
    }

    /// The count of staling events so far, taken before a decision starts
    /// (see [`settle`](Self::settle)).
    pub(crate) fn changes(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }

    /// After a decision about `key` that started when [`changes`](Self::changes)
    /// was `before`: if an event made entries stale meanwhile, the entry it
    /// inserted may rest on what was read before the event, and is made
    /// stale too (its record is read again on its next request).
    pub(crate) fn settle(&self, key: &Fingerprint, before: u64) {
        if self.changes() != before {
            self.stale_key(key);
        }
    }

    /// Makes the entry of `key`, if any, stale: its record is read again on
    /// its next request.
    pub(crate) fn stale_key(&self, key: &Fingerprint) {
        if let Some(entry) = self.hot.peek(key) {
            let _ = self.hot.replace(*key, stale(entry), true);
        }
    }

    /// Whether the hot cache holds an entry of `admin` under `key`.
    fn holds(&self, key: &Fingerprint, admin: i64) -> bool {
        self.hot.peek(key).is_some_and(|entry| entry.admin == admin)
    }

    /// Remembers an accepted token as of `now`, decided under `generation`
    /// (read with the settings the decision used): if the caches were
    /// cleared since, the entry is not kept.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn accept(
        &self,
        key: Fingerprint,
        profile: Arc<AdminUser>,
        expires_at: OffsetDateTime,
        last_check: OffsetDateTime,
        digest: Digest,
        email: Fingerprint,
        now: OffsetDateTime,
        generation: u64,
    ) -> HotEntry {
        let stale_at = after(now, self.hot_ttl);
        let next_check = after(last_check, self.revalidate_after);
        let admin = profile.id.0;
        let profile = self.shared_profile(profile);
        let entry = HotEntry {
            admin,
            profile,
            expires_at,
            last_check,
            digest,
            email,
            fresh_until: expires_at.min(next_check).min(stale_at),
            stale_at,
            reread_at: after(now, self.reread),
            epoch: self.feed_state().epoch(),
        };
        let evicted = self.hot.insert_with_lifecycle(key, entry.clone());
        // Indexed once in the cache (and only if still there): an eviction
        // racing this insert cannot leave a key indexed that the cache lost.
        self.by_admin
            .add_if(key, admin, |key| self.holds(key, admin));
        for (key, admin) in evicted {
            self.by_admin
                .remove_unless(key, admin, |key| self.holds(key, admin));
        }
        self.keep_if_current(&key, generation);
        entry
    }

    /// The copy of `profile` the admin's other entries hold if it is the
    /// same, so that a million tokens of one admin keep one profile; else
    /// `profile`, which their next entries share.
    fn shared_profile(&self, profile: Arc<AdminUser>) -> Arc<AdminUser> {
        let mut profiles = self.profiles.lock().unwrap_or_else(PoisonError::into_inner);
        match profiles.get(&profile.id.0) {
            Some(known) if **known == *profile => known.clone(),
            _ => {
                profiles.insert(profile.id.0, profile.clone());
                profile
            }
        }
    }

    /// Forgets an accepted token.
    pub(crate) fn forget(&self, key: &Fingerprint) {
        if let Some((key, entry)) = self.hot.remove(key) {
            self.by_admin
                .remove_unless(key, entry.admin, |key| self.holds(key, entry.admin));
        }
    }

    /// Why the token was refused, if it was within the refusal TTL.
    /// A refusal for an admin's state ends when the feed reports a change of
    /// that admin.
    pub(crate) fn refusal(&self, key: &Fingerprint, now: OffsetDateTime) -> Option<TokenRejection> {
        let refusal = self.refused.get(key)?;
        let admin_changed = refusal.admin.is_some_and(|(admin, decided)| {
            self.admin_changes
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&admin)
                .is_some_and(|changed| *changed > decided)
        });
        if now >= refusal.until || admin_changed {
            self.refused.remove(key);
            return None;
        }
        Some(refusal.rejection)
    }

    /// Whether the refusal remembered for `key` is one of an admin's state
    /// (see [`refuse_for_admin`](Self::refuse_for_admin)).
    pub(crate) fn refused_for_admin(&self, key: &Fingerprint) -> bool {
        self.refused
            .get(key)
            .is_some_and(|refusal| refusal.admin.is_some())
    }

    /// Remembers a refusal as of `now`.
    pub(crate) fn refuse(&self, key: Fingerprint, rejection: TokenRejection, now: OffsetDateTime) {
        self.refused.insert(
            key,
            Refusal {
                rejection,
                until: after(now, self.refused_ttl),
                admin: None,
            },
        );
    }

    /// Remembers, as of `now`, a refusal because of the state of `admin`:
    /// a change of that admin reported by the feed ends it.
    pub(crate) fn refuse_for_admin(
        &self,
        key: Fingerprint,
        rejection: TokenRejection,
        admin: i64,
        now: OffsetDateTime,
    ) {
        self.refused.insert(
            key,
            Refusal {
                rejection,
                until: after(now, self.refused_ttl),
                admin: Some((admin, self.changes())),
            },
        );
    }

    /// Forgets every accepted token of `admin` and remembers it refused with
    /// `rejection`; returns how many there were.
    pub(crate) fn refuse_admin(
        &self,
        admin: i64,
        rejection: &TokenRejection,
        now: OffsetDateTime,
    ) -> usize {
        // A decision in flight for one of these tokens is settled stale.
        self.changes.fetch_add(1, Ordering::AcqRel);
        let mut refused = 0;
        for key in self.by_admin.keys_of(admin) {
            if self
                .hot
                .remove_if(&key, |entry| entry.admin == admin)
                .is_some()
            {
                self.refuse(key, rejection.clone(), now);
                refused += 1;
            }
            self.by_admin
                .remove_unless(key, admin, |key| self.holds(key, admin));
        }
        refused
    }

    /// Forgets every accepted and refused token (the integration's client
    /// or organization changed: what was decided under the old ones no
    /// longer holds).
    ///
    /// The generation moves first: a decision still in flight under the
    /// old ones, inserted after this, is removed by
    /// [`accept`](Self::accept).
    pub(crate) fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        // The index first: an entry inserted in between is then either
        // cleared from the cache (its key left indexed, harmless) or indexed.
        self.by_admin.clear();
        self.hot.clear();
        self.refused.clear();
        self.profiles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// The current generation (see [`clear`](Self::clear)).
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// After inserting `key` under `generation`: removes it again if the
    /// caches were cleared since (checked after the insert, so that a clear
    /// in between cannot be missed).
    fn keep_if_current(&self, key: &Fingerprint, generation: u64) {
        if self.generation() != generation {
            self.hot.remove(key);
        }
    }

    /// Accepted tokens in memory.
    pub(crate) fn accepted_len(&self) -> usize {
        self.hot.len()
    }
}

/// `entry`, made stale: its record is read again on its next request.
fn stale(entry: HotEntry) -> HotEntry {
    HotEntry {
        fresh_until: OffsetDateTime::UNIX_EPOCH,
        stale_at: OffsetDateTime::UNIX_EPOCH,
        reread_at: OffsetDateTime::UNIX_EPOCH,
        ..entry
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

    /// Admin `id` as a directory would give them.
    fn profile(id: i64) -> Arc<AdminUser> {
        Arc::new(AdminUser::new(
            ims_api::AdminUserId(id),
            format!("admin{id}"),
            format!("admin{id}@example.com"),
        ))
    }

    /// Accepts `key` for `admin` as of `T0`, under the current generation.
    fn accept_key(
        memory: &Memory,
        f: &Fingerprinter,
        key: Fingerprint,
        admin: i64,
        expires_at: OffsetDateTime,
        last_check: OffsetDateTime,
    ) -> HotEntry {
        let email = f.of(b"e").unwrap();
        let generation = memory.generation();
        memory.accept(
            key,
            profile(admin),
            expires_at,
            last_check,
            [0; 32],
            email,
            T0,
            generation,
        )
    }

    #[test]
    fn an_entry_is_fresh_until_the_earliest_of_expiry_check_and_trust() {
        let (memory, f) = memory();
        let key = f.of(b"tok").unwrap();
        let expires = T0 + time::Duration::seconds(20);
        let entry = accept_key(&memory, &f, key, 1, expires, T0);
        assert_eq!(entry.fresh_until, expires, "expiry first");
        assert!(
            memory
                .fresh(&key, T0 + time::Duration::seconds(19), memory.feed_state())
                .is_some()
        );
        assert!(memory.fresh(&key, expires, memory.feed_state()).is_none());

        let entry = accept_key(&memory, &f, key, 1, T0 + time::Duration::hours(1), T0);
        assert_eq!(
            entry.fresh_until,
            T0 + time::Duration::seconds(30),
            "trust next"
        );
        let old_check = T0 - time::Duration::seconds(590);
        let entry = accept_key(
            &memory,
            &f,
            key,
            1,
            T0 + time::Duration::hours(1),
            old_check,
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
        let entry = accept_key(&memory, &f, key, 1, T0 + time::Duration::hours(1), T0);
        assert_eq!(entry.stale_at, T0 + time::Duration::seconds(30));
        assert!(
            memory
                .fresh(&key, T0 + time::Duration::seconds(30), memory.feed_state())
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
            accept_key(
                &memory,
                &f,
                f.of(token.as_bytes()).unwrap(),
                admin,
                later,
                T0,
            );
        }
        let revoked = TokenRejection::Invalidated("revoked".into());
        assert_eq!(memory.refuse_admin(1, &revoked, T0), 2);
        assert_eq!(memory.accepted_len(), 1);
        assert_eq!(memory.refusal(&f.of(b"a1").unwrap(), T0), Some(revoked));
        assert!(
            memory
                .fresh(&f.of(b"b1").unwrap(), T0, memory.feed_state())
                .is_some()
        );
    }

    #[test]
    fn an_admins_entries_share_one_profile_until_it_changes() {
        let (memory, f) = memory();
        let later = T0 + time::Duration::hours(1);
        let a = accept_key(&memory, &f, f.of(b"a").unwrap(), 1, later, T0);
        let b = accept_key(&memory, &f, f.of(b"b").unwrap(), 1, later, T0);
        assert!(Arc::ptr_eq(&a.profile, &b.profile), "one copy per admin");
        let mut renamed = (*profile(1)).clone();
        renamed.first_name = "Jane".into();
        let c = memory.accept(
            f.of(b"c").unwrap(),
            Arc::new(renamed),
            later,
            T0,
            [0; 32],
            f.of(b"e").unwrap(),
            T0,
            memory.generation(),
        );
        assert_eq!(c.profile.first_name, "Jane", "a changed profile is kept");
        let other = accept_key(&memory, &f, f.of(b"d").unwrap(), 2, later, T0);
        assert_eq!(other.profile.id.0, 2);
    }

    #[test]
    fn an_entry_decided_before_a_clear_is_not_kept() {
        let (memory, f) = memory();
        let key = f.of(b"tok").unwrap();
        let later = T0 + time::Duration::hours(1);
        let before = memory.generation();
        memory.clear();
        memory.accept(
            key,
            profile(1),
            later,
            T0,
            [0; 32],
            f.of(b"e").unwrap(),
            T0,
            before,
        );
        assert!(
            memory.accepted(&key).is_none(),
            "decided under old settings"
        );
        accept_key(&memory, &f, key, 1, later, T0);
        assert!(memory.accepted(&key).is_some());
    }

    fn accept(memory: &Memory, f: &Fingerprinter, token: &str, admin: i64, now: OffsetDateTime) {
        let later = T0 + time::Duration::hours(1);
        let (key, email) = (f.of(token.as_bytes()).unwrap(), f.of(b"e").unwrap());
        memory.accept(
            key,
            profile(admin),
            later,
            now,
            [0; 32],
            email,
            now,
            memory.generation(),
        );
    }

    fn trusted(memory: &Memory, f: &Fingerprinter, token: &str, now: OffsetDateTime) -> bool {
        let entry = memory.accepted(&f.of(token.as_bytes()).unwrap()).unwrap();
        let fresh = memory
            .fresh(&f.of(token.as_bytes()).unwrap(), now, memory.feed_state())
            .is_some();
        assert_eq!(
            fresh,
            memory.trusted(&entry, now),
            "{token}: both paths agree"
        );
        fresh
    }

    #[test]
    fn staling_an_admin_keeps_their_entries_for_a_reread_and_leaves_others_alone() {
        let (memory, f) = memory();
        for (token, admin) in [("a1", 1), ("a2", 1), ("b1", 2)] {
            accept(&memory, &f, token, admin, T0);
        }
        assert_eq!(memory.stale_admin(1), 2);
        assert_eq!(memory.accepted_len(), 3, "kept: read again, not refused");
        assert!(!trusted(&memory, &f, "a1", T0));
        assert!(!trusted(&memory, &f, "a2", T0));
        assert!(trusted(&memory, &f, "b1", T0));
        assert!(memory.refusal(&f.of(b"a1").unwrap(), T0).is_none());
        // Read again: trusted again.
        accept(&memory, &f, "a1", 1, T0);
        assert!(trusted(&memory, &f, "a1", T0));
    }

    #[test]
    fn a_new_epoch_makes_every_entry_stale_and_a_lost_feed_trusts_only_the_reread_interval() {
        let (memory, f) = memory();
        let reread = time::Duration::milliseconds(250);
        accept(&memory, &f, "old", 1, T0);
        memory.lose_feed();
        assert!(memory.feed_state().lost());
        assert!(trusted(
            &memory,
            &f,
            "old",
            T0 + reread - time::Duration::milliseconds(1)
        ));
        assert!(!trusted(&memory, &f, "old", T0 + reread));
        accept(&memory, &f, "lost", 1, T0 + reread);
        assert!(trusted(&memory, &f, "lost", T0 + reread));

        memory.stale_all(true);
        assert!(!memory.feed_state().lost());
        assert_eq!(memory.feed_state().epoch(), 1);
        assert!(!trusted(&memory, &f, "old", T0), "read in an older epoch");
        assert!(!trusted(&memory, &f, "lost", T0 + reread));
        accept(&memory, &f, "new", 1, T0);
        assert!(
            trusted(&memory, &f, "new", T0 + time::Duration::seconds(29)),
            "live: hot_cache_ttl"
        );

        // Without `resumed`, a lost feed stays lost.
        memory.lose_feed();
        memory.stale_all(false);
        assert!(memory.feed_state().lost());
        assert_eq!(memory.feed_state().epoch(), 2);
        assert!(!trusted(&memory, &f, "new", T0));
    }

    #[test]
    fn a_change_of_the_admin_ends_a_refusal_for_their_state() {
        let (memory, f) = memory();
        let (mine, other, plain) = (
            f.of(b"mine").unwrap(),
            f.of(b"other").unwrap(),
            f.of(b"x").unwrap(),
        );
        memory.refuse_for_admin(mine, TokenRejection::UnknownUser, 1, T0);
        memory.refuse_for_admin(other, TokenRejection::UnknownUser, 2, T0);
        memory.refuse(plain, TokenRejection::UnknownUser, T0);
        memory.stale_admin(1);
        assert!(memory.refusal(&mine, T0).is_none(), "admin 1 changed");
        assert!(memory.refusal(&other, T0).is_some());
        assert!(memory.refusal(&plain, T0).is_some());
        // Decided after the change: stands.
        memory.refuse_for_admin(mine, TokenRejection::UnknownUser, 1, T0);
        assert!(memory.refusal(&mine, T0).is_some());
    }

    #[test]
    fn a_decision_across_an_event_is_settled_stale() {
        let (memory, f) = memory();
        let key = f.of(b"tok").unwrap();
        let before = memory.changes();
        accept(&memory, &f, "tok", 1, T0);
        memory.settle(&key, before);
        assert!(trusted(&memory, &f, "tok", T0), "no event: kept");
        let before = memory.changes();
        memory.stale_admin(2);
        accept(&memory, &f, "tok", 1, T0);
        memory.settle(&key, before);
        assert!(!trusted(&memory, &f, "tok", T0), "read before an event");
    }

    #[test]
    fn the_admin_index_follows_the_cache() {
        let (memory, f) = memory();
        for i in 0..1000 {
            accept(&memory, &f, &format!("tok {i}"), i % 3, T0);
        }
        assert_eq!(
            memory.by_admin.len(),
            memory.accepted_len(),
            "evictions unindexed"
        );
        let key = f.of(b"tok 999").unwrap();
        if memory.accepted(&key).is_some() {
            memory.forget(&key);
        }
        assert_eq!(
            memory.by_admin.len(),
            memory.accepted_len(),
            "forgotten unindexed"
        );
        let revoked = TokenRejection::Invalidated("revoked".into());
        let of_0 = memory.by_admin.keys_of(0).len();
        assert_eq!(memory.refuse_admin(0, &revoked, T0), of_0);
        assert!(memory.by_admin.keys_of(0).is_empty());
        memory.clear();
        assert_eq!(memory.by_admin.len(), 0);
    }

    #[test]
    fn the_hot_cache_keeps_its_bound() {
        let (memory, f) = memory();
        let later = T0 + time::Duration::hours(1);
        for i in 0..1000 {
            let key = f.of(format!("tok {i}").as_bytes()).unwrap();
            accept_key(&memory, &f, key, 1, later, T0);
        }
        assert!(memory.accepted_len() <= 100, "{}", memory.accepted_len());
    }
}
