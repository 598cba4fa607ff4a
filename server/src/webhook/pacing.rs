//! Pacing for callbacks a restart caused: a token bucket per app, so the Disconnects of every
//! device that was online when the server stopped (there can be 100,000) reach the app's
//! backend at a rate it can take rather than all at once.

use std::time::Duration;

use tokio::time::Instant;

/// A token bucket in its GCRA form: one instant (when the bucket would be full again) instead
/// of a count of tokens and a refill timer.
#[derive(Debug)]
pub(super) struct Pacing {
    /// Time one token stands for; `None` when pacing is off.
    interval: Option<Duration>,
    /// How far behind now `full_at` may lag: the burst a full bucket allows, less one.
    tolerance: Duration,
    /// When the bucket is full again, were no token taken from now on.
    full_at: Option<Instant>,
}

impl Pacing {
    /// At most `per_second` tokens a second; 0 turns pacing off. The bucket holds 50 ms worth
    /// (at least one): enough that a worker waking a little late loses no rate, too little to
    /// matter to the receiver.
    pub fn new(per_second: u32) -> Pacing {
        if per_second == 0 {
            return Pacing {
                interval: None,
                tolerance: Duration::ZERO,
                full_at: None,
            };
        }
        let interval = Duration::from_secs(1) / per_second;
        let burst = (per_second / 20).max(1);
        Pacing {
            interval: Some(interval),
            tolerance: interval * (burst - 1),
            full_at: None,
        }
    }

    /// Takes a token, or answers when the next one will be there.
    pub fn take(&mut self, now: Instant) -> Result<(), Instant> {
        let Some(interval) = self.interval else {
            return Ok(());
        };
        let full_at = self.full_at.map_or(now, |at| at.max(now));
        let ready_at = full_at.checked_sub(self.tolerance).unwrap_or(now);
        if ready_at > now {
            return Err(ready_at);
        }
        self.full_at = Some(full_at + interval);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_one_token_per_interval() {
        let start = Instant::now();
        // 100 a second: 10 ms a token, 5 at once.
        let mut pacing = Pacing::new(100);
        for _ in 0..5 {
            assert_eq!(pacing.take(start), Ok(()));
        }
        let next = pacing.take(start).unwrap_err();
        assert_eq!(next - start, Duration::from_millis(10));
        assert_eq!(pacing.take(next), Ok(()));
        assert!(pacing.take(next).is_err());
        // A bucket left alone fills up again, no further than its burst.
        let later = next + Duration::from_secs(10);
        for _ in 0..5 {
            assert_eq!(pacing.take(later), Ok(()));
        }
        assert!(pacing.take(later).is_err());
    }

    #[test]
    fn zero_is_no_pacing() {
        let mut pacing = Pacing::new(0);
        let now = Instant::now();
        assert!((0..10_000).all(|_| pacing.take(now).is_ok()));
    }
}
