//! Randomised delays: reconnect backoff and heartbeat jitter.
//!
//! Both are random so that many clients cut off by the same outage (or started by the same
//! deployment) do not hit the server in lockstep.

use std::time::Duration;

use super::random;

/// Full-jitter exponential backoff: attempt `n` sleeps `random(0, min(max, base * 2^n))`.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    base: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    pub(crate) fn new(base: Duration, max: Duration) -> Self {
        Backoff {
            base,
            max: max.max(base),
            attempt: 0,
        }
    }

    /// The upper bound of the delay for `attempt`, saturating instead of overflowing however
    /// long the outage lasts.
    pub(crate) fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }

    /// The delay before the next attempt; each call moves one attempt further.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling(self.attempt);
        self.attempt = self.attempt.saturating_add(1);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(random::up_to(nanos))
    }

    /// Called once a connection is back, so the next outage starts with short delays again.
    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// `interval` moved randomly by up to ±10%.
pub(crate) fn jittered(interval: Duration) -> Duration {
    let factor = random::between(0.9, 1.1);
    interval.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_stay_within_the_full_jitter_bounds() {
        let base = Duration::from_millis(500);
        let max = Duration::from_secs(30);
        let mut backoff = Backoff::new(base, max);
        for attempt in 0..100u32 {
            let ceiling = backoff.ceiling(attempt);
            let expected = if attempt < 20 {
                (base * 2u32.pow(attempt)).min(max)
            } else {
                max
            };
            assert_eq!(ceiling, expected, "attempt {attempt}");
            let delay = backoff.next_delay();
            assert!(
                delay <= ceiling,
                "attempt {attempt}: {delay:?} > {ceiling:?}"
            );
        }
    }

    #[test]
    fn ceiling_saturates_for_huge_attempts() {
        let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        assert_eq!(backoff.ceiling(u32::MAX), Duration::from_secs(60));
        let huge = Backoff::new(Duration::MAX / 2, Duration::MAX);
        assert_eq!(huge.ceiling(40), Duration::MAX);
    }

    #[test]
    fn reset_starts_over() {
        let base = Duration::from_millis(10);
        let mut backoff = Backoff::new(base, Duration::from_secs(10));
        for _ in 0..10 {
            backoff.next_delay();
        }
        backoff.reset();
        assert!(backoff.next_delay() <= base);
    }

    #[test]
    fn delays_are_spread_not_constant() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(1));
        let delays: Vec<_> = (0..20).map(|_| backoff.next_delay()).collect();
        assert!(delays.iter().any(|d| *d != delays[0]));
    }

    #[test]
    fn jitter_is_within_ten_percent() {
        let interval = Duration::from_secs(120);
        for _ in 0..100 {
            let d = jittered(interval);
            assert!(d >= Duration::from_secs(108) && d <= Duration::from_secs(132));
        }
    }
}
