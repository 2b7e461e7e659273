//! The ingest path's memory of which site keys exist: bounded TTL caches
//! (`moka`) in front of the one global site lookup.
//!
//! # Security
//! Known keys (real sites) and unknown keys (misses) live in two separate
//! caches, each with its own capacity and time to live. Anyone can send
//! random site keys to the public endpoints; those misses fill only the
//! unknown cache, so a flood of them can never evict a real site (which
//! would push every event of every site to the database). A disabled site
//! stops being accepted within [`KNOWN_TTL`] on every instance.
//!
//! Across instances (issue 19): every change to `sites` notifies
//! `metiva_cache` ('sites'), and each instance's cache bus drops both
//! caches at once, so a site disabled on instance A stops ingest on B
//! within the notification's delivery (milliseconds). While the bus is
//! trusted, entries live up to [`SAFETY_TTL`]; while it is not (listener
//! down, or behind a transaction-mode pooler), an entry older than the
//! short TTLs below is not used: the TTLs are only the safety net. A
//! lookup that raced an invalidation is not remembered (generation).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use metiva_db::ingest::SiteBinding;
use metiva_db::notify::CacheBus;
use moka::sync::Cache;

/// Without a trusted listener: how long a real site is remembered (how
/// soon disabling it takes hold).
pub const KNOWN_TTL: Duration = Duration::from_secs(5);
/// Without a trusted listener: how long an unknown key is remembered (how
/// soon a new site works).
pub const UNKNOWN_TTL: Duration = Duration::from_secs(10);
/// With a trusted listener: the safety net behind the notifications.
pub const SAFETY_TTL: Duration = Duration::from_secs(60);
/// Real sites remembered at most.
const KNOWN_MAX: u64 = 10_000;
/// Unknown keys remembered at most.
const UNKNOWN_MAX: u64 = 10_000;

/// What the cache remembers about a site key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remembered {
    /// A real, enabled site.
    Site(SiteBinding),
    /// No such (enabled) site.
    NoSite,
}

/// The two caches (see the module docs).
pub struct SiteCache {
    known: Cache<String, (SiteBinding, Instant)>,
    unknown: Cache<String, Instant>,
    /// The short TTLs, used while the bus is not trusted.
    short: (Duration, Duration),
    bus: Option<Arc<CacheBus>>,
    generation: AtomicU64,
}

impl Default for SiteCache {
    /// Without a bus: the short TTLs always apply.
    fn default() -> Self {
        Self::with_limits((KNOWN_MAX, KNOWN_TTL), (UNKNOWN_MAX, UNKNOWN_TTL), None)
    }
}

impl SiteCache {
    /// The cache, kept honest by `bus` (see the module docs). Subscribe
    /// [`SiteCache::invalidate_all`] to the bus's 'sites' events.
    pub fn with_bus(bus: Arc<CacheBus>) -> Self {
        Self::with_limits(
            (KNOWN_MAX, KNOWN_TTL),
            (UNKNOWN_MAX, UNKNOWN_TTL),
            Some(bus),
        )
    }

    /// Caches of the given (capacity, short time to live) each.
    fn with_limits(
        known: (u64, Duration),
        unknown: (u64, Duration),
        bus: Option<Arc<CacheBus>>,
    ) -> Self {
        let longest = |short: Duration| short.max(SAFETY_TTL);
        Self {
            known: Cache::builder()
                .max_capacity(known.0)
                .time_to_live(longest(known.1))
                .build(),
            unknown: Cache::builder()
                .max_capacity(unknown.0)
                .time_to_live(longest(unknown.1))
                .build(),
            short: (known.1, unknown.1),
            bus,
            generation: AtomicU64::new(0),
        }
    }

    fn fresh(&self, at: Instant, short: Duration) -> bool {
        let trusted = self.bus.as_ref().is_some_and(|b| b.is_trusted());
        trusted || at.elapsed() < short
    }

    /// What is remembered about `key`, if anything (still fresh).
    pub fn get(&self, key: &str) -> Option<Remembered> {
        if let Some((site, at)) = self.known.get(key)
            && self.fresh(at, self.short.0)
        {
            return Some(Remembered::Site(site));
        }
        self.unknown
            .get(key)
            .filter(|at| self.fresh(*at, self.short.1))
            .map(|_| Remembered::NoSite)
    }

    /// Read before a lookup, passed to [`SiteCache::remember`] after it.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Drops everything; lookups in flight will not store their answer.
    pub fn invalidate_all(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.known.invalidate_all();
        self.unknown.invalidate_all();
    }

    /// Remembers the lookup's answer for `key`, in the cache it belongs to
    /// (and forgets any older answer in the other), unless an
    /// invalidation happened since `generation` was read.
    pub fn remember(&self, key: &str, found: Option<&SiteBinding>, generation: u64) {
        if self.generation() != generation {
            return;
        }
        let now = Instant::now();
        match found {
            Some(site) => {
                self.unknown.invalidate(key);
                self.known.insert(key.to_string(), (site.clone(), now));
            }
            None => {
                self.known.invalidate(key);
                self.unknown.insert(key.to_string(), now);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use metiva_db::CompanyId;

    use super::*;

    fn site() -> SiteBinding {
        SiteBinding {
            company: CompanyId::parse("cmp_8fa2c1").unwrap(),
            site_id: uuid::Uuid::new_v4(),
            allowed_origins: vec!["https://devries.example".into()],
        }
    }

    /// The requirement: a flood of unknown keys, far past the
    /// unknown cache's capacity, leaves a real site cached.
    #[test]
    fn a_flood_of_unknown_keys_does_not_evict_a_real_site() {
        let cache = SiteCache::with_limits((4, KNOWN_TTL), (64, UNKNOWN_TTL), None);
        let real = site();
        cache.remember("real-site-key", Some(&real), 0);
        for i in 0..20_000 {
            let key = format!("random-{i}");
            if cache.get(&key).is_none() {
                cache.remember(&key, None, 0);
            }
        }
        cache.known.run_pending_tasks();
        cache.unknown.run_pending_tasks();
        assert_eq!(cache.get("real-site-key"), Some(Remembered::Site(real)));
        // The misses stayed within their own bound.
        assert!(cache.unknown.entry_count() <= 64);
        assert_eq!(cache.known.entry_count(), 1);
    }

    #[test]
    fn answers_move_between_the_caches_and_expire() {
        let ttl = Duration::from_millis(50);
        let cache = SiteCache::with_limits((4, ttl), (4, ttl), None);
        assert_eq!(cache.get("k"), None);
        cache.remember("k", None, 0);
        assert_eq!(cache.get("k"), Some(Remembered::NoSite));
        // The site was created: the newer answer wins.
        let s = site();
        cache.remember("k", Some(&s), 0);
        assert_eq!(cache.get("k"), Some(Remembered::Site(s)));
        // Disabled: the miss replaces the site at once.
        cache.remember("k", None, 0);
        assert_eq!(cache.get("k"), Some(Remembered::NoSite));
        std::thread::sleep(Duration::from_millis(120));
        assert_eq!(cache.get("k"), None);
    }

    /// An invalidation drops both caches at once, and a lookup that
    /// started before it does not store its (possibly stale) answer.
    #[test]
    fn invalidation_drops_everything_and_beats_a_racing_lookup() {
        let cache = SiteCache::default();
        let s = site();
        cache.remember("a", Some(&s), cache.generation());
        cache.remember("b", None, cache.generation());
        let before = cache.generation();
        cache.invalidate_all();
        assert_eq!(cache.get("a"), None);
        assert_eq!(cache.get("b"), None);
        cache.remember("a", Some(&s), before);
        assert_eq!(cache.get("a"), None, "a raced lookup is not remembered");
        cache.remember("a", Some(&s), cache.generation());
        assert_eq!(cache.get("a"), Some(Remembered::Site(s)));
    }
}
