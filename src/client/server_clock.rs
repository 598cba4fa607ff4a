//! The server's clock as this client knows it (V2TIM `GetServerTime`).
//!
//! The server stamps its `ok` replies to `login` and `heartbeat` with its Unix time in
//! milliseconds (`server_time_ms`). The stamp was taken somewhere between sending the request and
//! receiving the reply, so the best guess for the server's time at reception is the stamp plus
//! half the round trip, give or take half the round trip.
//!
//! A sample is kept as (server time, local *monotonic* instant) rather than as an offset to the
//! local wall clock: a user changing the device's clock after the sample then does not move the
//! answer, which is the whole point of asking the server. Until the first sample the answer is the
//! local wall clock (what V2TIM answers before it has talked to its server).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How much the local monotonic clock is assumed to drift from the server's, at most: one part in
/// this many (1000 ppm, far more than any crystal). A kept sample's uncertainty grows by this much
/// with its age, so a fresh sample with a worse round trip eventually replaces it.
const DRIFT_DIVISOR: u32 = 1000;

/// One reading of the server's clock.
#[derive(Debug, Clone, Copy)]
struct Sample {
    /// The server's Unix time in ms at `at`, estimated.
    server_ms: u64,
    /// When the reply was received, on the local monotonic clock.
    at: Instant,
    /// Half the round trip: how far off `server_ms` may be.
    uncertainty: Duration,
}

/// The best reading so far; see the module documentation.
#[derive(Debug, Default)]
pub(crate) struct ServerClock {
    best: Option<Sample>,
}

impl ServerClock {
    /// Takes a stamp from a reply to a request sent at `sent` and received at `received`. Kept
    /// when it is at least as precise as the current reading once that one's age is counted.
    pub(crate) fn record(&mut self, server_time_ms: u64, sent: Instant, received: Instant) {
        let half_trip = received.saturating_duration_since(sent) / 2;
        let sample = Sample {
            server_ms: server_time_ms.saturating_add(millis(half_trip)),
            at: received,
            uncertainty: half_trip,
        };
        let keep_new = match &self.best {
            None => true,
            Some(old) => {
                let drift = received.saturating_duration_since(old.at) / DRIFT_DIVISOR;
                sample.uncertainty <= old.uncertainty + drift
            }
        };
        if keep_new {
            self.best = Some(sample);
        }
    }

    /// The server's Unix time in milliseconds now, as estimated; the local wall clock before the
    /// first reading.
    pub(crate) fn now_ms(&self) -> u64 {
        self.at(Instant::now())
    }

    /// Whether the server's clock has been read at least once.
    pub(crate) fn is_known(&self) -> bool {
        self.best.is_some()
    }

    fn at(&self, now: Instant) -> u64 {
        match &self.best {
            Some(sample) => sample
                .server_ms
                .saturating_add(millis(now.saturating_duration_since(sample.at))),
            None => local_unix_ms(),
        }
    }
}

/// The local wall clock in Unix milliseconds (0 for a clock set before 1970).
pub fn local_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, millis)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR_MS: u64 = 3_600_000;

    #[test]
    fn before_any_reply_it_is_the_local_clock() {
        let clock = ServerClock::default();
        let local = local_unix_ms();
        let answer = clock.now_ms();
        assert!(
            answer >= local && answer - local < 1000,
            "{answer} vs {local}"
        );
        assert!(!clock.is_known());
    }

    #[test]
    fn half_the_round_trip_is_added_and_time_moves_on_monotonically() {
        let mut clock = ServerClock::default();
        let sent = Instant::now();
        let received = sent + Duration::from_millis(200);
        clock.record(10 * HOUR_MS, sent, received);
        assert!(clock.is_known());
        assert_eq!(clock.at(received), 10 * HOUR_MS + 100);
        assert_eq!(
            clock.at(received + Duration::from_secs(5)),
            10 * HOUR_MS + 100 + 5000
        );
    }

    #[test]
    fn a_precise_reading_is_not_replaced_by_a_sloppy_one_until_it_ages() {
        let mut clock = ServerClock::default();
        let t0 = Instant::now();
        // Precise: a 2 ms round trip, server at 10 h.
        clock.record(10 * HOUR_MS, t0, t0 + Duration::from_millis(2));
        // One second later a reply that took 800 ms and claims something 300 ms off: ignored.
        let t1 = t0 + Duration::from_secs(1);
        clock.record(
            10 * HOUR_MS + 1000 + 300,
            t1,
            t1 + Duration::from_millis(800),
        );
        assert_eq!(clock.at(t0 + Duration::from_millis(2)), 10 * HOUR_MS + 1);
        // Ten minutes later the old reading may have drifted by 600 ms: the new one wins.
        let t2 = t0 + Duration::from_secs(600);
        clock.record(20 * HOUR_MS, t2, t2 + Duration::from_millis(800));
        assert_eq!(
            clock.at(t2 + Duration::from_millis(800)),
            20 * HOUR_MS + 400
        );
    }

    #[test]
    fn an_equally_good_reading_replaces_the_old_one() {
        let mut clock = ServerClock::default();
        let t0 = Instant::now();
        clock.record(HOUR_MS, t0, t0 + Duration::from_millis(10));
        let t1 = t0 + Duration::from_millis(50);
        clock.record(2 * HOUR_MS, t1, t1 + Duration::from_millis(10));
        assert_eq!(clock.at(t1 + Duration::from_millis(10)), 2 * HOUR_MS + 5);
    }
}
