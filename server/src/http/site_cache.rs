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

use std::time::Duration;

use metiva_db::ingest::SiteBinding;
use moka::sync::Cache;

/// How long a real site is remembered (how soon disabling it takes hold).
pub const KNOWN_TTL: Duration = Duration::from_secs(5);
/// How long an unknown key is remembered (how soon a new site works).
pub const UNKNOWN_TTL: Duration = Duration::from_secs(10);
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
    known: Cache<String, SiteBinding>,
    unknown: Cache<String, ()>,
}

impl Default for SiteCache {
    fn default() -> Self {
        Self::with_limits((KNOWN_MAX, KNOWN_TTL), (UNKNOWN_MAX, UNKNOWN_TTL))
    }
}

impl SiteCache {
    /// Caches of the given (capacity, time to live) each.
    fn with_limits(known: (u64, Duration), unknown: (u64, Duration)) -> Self {
        Self {
            known: Cache::builder()
                .max_capacity(known.0)
                .time_to_live(known.1)
                .build(),
            unknown: Cache::builder()
                .max_capacity(unknown.0)
                .time_to_live(unknown.1)
                .build(),
        }
    }

    /// What is remembered about `key`, if anything (still fresh).
    pub fn get(&self, key: &str) -> Option<Remembered> {
        if let Some(site) = self.known.get(key) {
            return Some(Remembered::Site(site));
        }
        self.unknown.get(key).map(|()| Remembered::NoSite)
    }

    /// Remembers the lookup's answer for `key`, in the cache it belongs to
    /// (and forgets any older answer in the other).
    pub fn remember(&self, key: &str, found: Option<&SiteBinding>) {
        match found {
            Some(site) => {
                self.unknown.invalidate(key);
                self.known.insert(key.to_string(), site.clone());
            }
            None => {
                self.known.invalidate(key);
                self.unknown.insert(key.to_string(), ());
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
        let cache = SiteCache::with_limits((4, KNOWN_TTL), (64, UNKNOWN_TTL));
        let real = site();
        cache.remember("real-site-key", Some(&real));
        for i in 0..20_000 {
            let key = format!("random-{i}");
            if cache.get(&key).is_none() {
                cache.remember(&key, None);
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
        let cache = SiteCache::with_limits((4, ttl), (4, ttl));
        assert_eq!(cache.get("k"), None);
        cache.remember("k", None);
        assert_eq!(cache.get("k"), Some(Remembered::NoSite));
        // The site was created: the newer answer wins.
        let s = site();
        cache.remember("k", Some(&s));
        assert_eq!(cache.get("k"), Some(Remembered::Site(s)));
        // Disabled: the miss replaces the site at once.
        cache.remember("k", None);
        assert_eq!(cache.get("k"), Some(Remembered::NoSite));
        std::thread::sleep(Duration::from_millis(120));
        assert_eq!(cache.get("k"), None);
    }
}
