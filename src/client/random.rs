//! Random numbers for jitter and device IDs, without a random-number crate.
//!
//! Nothing here needs cryptographic strength: jitter only spreads clients apart, and a device ID
//! only has to differ from the other devices of the same user. std's `RandomState` is seeded
//! from the operating system's randomness once per thread and gives every instance new keys, so
//! SipHash over a counter and the clock under those keys is unpredictable and never repeats
//! within a process. Benchmark (docs/benchmarks.md, SDK size): the `rand` crate cost about 12 KB
//! of the stripped library.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A random 64-bit number.
pub(crate) fn u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.write_u128(now);
    hasher.finish()
}

/// A number drawn evenly from `0..=max`.
pub(crate) fn up_to(max: u64) -> u64 {
    match max.checked_add(1) {
        // The modulo bias is below 2^-32 for every span a delay can have (at most hours of
        // nanoseconds, about 2^44), far too small to matter for jitter.
        Some(span) => u64() % span,
        None => u64(),
    }
}

/// A number drawn evenly from `[low, high]`.
pub(crate) fn between(low: f64, high: f64) -> f64 {
    // 53 random bits give every representable step of a double in [0, 1).
    let unit = (u64() >> 11) as f64 / (1u64 << 53) as f64;
    low + (high - low) * unit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_differ_and_stay_in_range() {
        let drawn: std::collections::HashSet<u64> = (0..1000).map(|_| u64()).collect();
        assert_eq!(drawn.len(), 1000);
        for _ in 0..1000 {
            assert!(up_to(10) <= 10);
            let x = between(0.9, 1.1);
            assert!((0.9..=1.1).contains(&x));
        }
        assert_eq!(up_to(0), 0);
        let _ = up_to(u64::MAX);
    }
}
