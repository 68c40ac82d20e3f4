//! The one retry policy every outbound call uses (PRODUCT.md §8, m365-facts B§2.3): 429
//! and 503 honour `Retry-After` (seconds, fractional seconds or an HTTP date); other
//! transient failures back off exponentially with full jitter; attempts and total time
//! are capped. Pure decisions here; the loop that sleeps lives in the client.

use std::time::{Duration, SystemTime};

/// Limits for one logical call (all its attempts).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// No new attempt starts once this much time has passed since the first.
    pub max_elapsed: Duration,
    /// First backoff (doubled per attempt) when the server gave no `Retry-After`.
    pub base_delay: Duration,
    /// Ceiling for one backoff, and for any `Retry-After` we are willing to honour.
    pub max_delay: Duration,
    /// Timeout of each attempt (connect, send, and the whole response body).
    pub attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            max_elapsed: Duration::from_secs(120),
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
            // m365-facts A§8.6: a 10 s timeout was too short for bulk photo loops.
            attempt_timeout: Duration::from_secs(30),
        }
    }
}

/// What went wrong with one attempt, as far as retrying cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// 429, with the server's `Retry-After` if it sent one.
    Throttled(Option<Duration>),
    /// 503 (or 502/504), with `Retry-After` if sent.
    Unavailable(Option<Duration>),
    /// The attempt timed out or the connection dropped before a response.
    Transport,
    /// Any other answer: retrying would give the same result.
    Permanent,
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Sleep this long, then try again.
    RetryAfter(Duration),
    /// Stop and report the failure.
    GiveUp,
}

impl RetryPolicy {
    /// Decide after attempt number `attempt` (1-based) failed with `failure`, `elapsed`
    /// since the first attempt began. `jitter` is a uniform sample in `[0, 1)`.
    pub fn decide(
        &self,
        attempt: u32,
        elapsed: Duration,
        failure: Failure,
        jitter: f64,
    ) -> Decision {
        let server_said = match failure {
            Failure::Permanent => return Decision::GiveUp,
            Failure::Throttled(after) | Failure::Unavailable(after) => after,
            Failure::Transport => None,
        };
        // Throttling with a Retry-After is waited out for as long as the time cap allows
        // (m365-facts B§2.3: "repeat while you still get 429"); the attempt cap is for
        // failures that may not heal.
        let waiting_out_throttle = matches!(failure, Failure::Throttled(Some(_)));
        if attempt >= self.max_attempts && !waiting_out_throttle {
            return Decision::GiveUp;
        }
        let wait = match server_said {
            // Graph keeps counting while throttled (B§2.3): wait what it says, not less.
            Some(after) if after > self.max_delay => return Decision::GiveUp,
            Some(after) => after,
            None => self.backoff(attempt, jitter),
        };
        if elapsed + wait > self.max_elapsed {
            return Decision::GiveUp;
        }
        Decision::RetryAfter(wait)
    }

    /// Exponential backoff with full jitter: uniform in `[0, min(max, base·2^(n-1))]`,
    /// never below a tenth of the base so a retry is never immediate.
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let cap = exp.min(self.max_delay);
        let floor = self.base_delay / 10;
        cap.mul_f64(jitter.clamp(0.0, 1.0)).max(floor)
    }
}

/// Parse a `Retry-After` value: delta-seconds (`"7"`), fractional seconds as Graph sends
/// them (`"2.128"`, m365-facts B§2.3), or an HTTP date (RFC 9110 §10.2.3). A date in the
/// past means "now". Garbage gives `None` (the caller backs off instead).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && (0.0..1e9).contains(&secs))
            .then(|| Duration::from_secs_f64(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A small seeded xorshift generator for jitter: no global state, reproducible in tests.
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Jitter {
    /// Seeded from the clock and the address of a stack value (different per call site
    /// and process); tests use [`Jitter::seeded`].
    pub fn new() -> Self {
        let t = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9e37_79b9);
        let local = 0u8;
        Self::seeded(t ^ (std::ptr::addr_of!(local) as u64).rotate_left(32))
    }

    /// A fixed sequence.
    pub fn seeded(seed: u64) -> Self {
        Self(seed | 1)
    }

    /// Next sample in `[0, 1)`.
    pub fn sample(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl Default for Jitter {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn retry_after_in_every_documented_form() {
        let now = SystemTime::UNIX_EPOCH + S(1_700_000_000);
        assert_eq!(parse_retry_after("7", now), Some(S(7)));
        assert_eq!(
            parse_retry_after(" 2.128 ", now),
            Some(Duration::from_millis(2128))
        );
        let later = httpdate::fmt_http_date(now + S(30));
        assert_eq!(parse_retry_after(&later, now), Some(S(30)));
        let earlier = httpdate::fmt_http_date(now - S(30));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        for bad in ["", "soon", "-1", "NaN", "inf", "1e99"] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad}");
        }
    }

    #[test]
    fn throttling_waits_exactly_what_the_server_says() {
        let p = RetryPolicy::default();
        let d = p.decide(1, S(0), Failure::Throttled(Some(S(3))), 0.0);
        assert_eq!(d, Decision::RetryAfter(S(3)));
        let d = p.decide(
            2,
            S(1),
            Failure::Unavailable(Some(Duration::from_millis(1500))),
            0.9,
        );
        assert_eq!(d, Decision::RetryAfter(Duration::from_millis(1500)));
    }

    #[test]
    fn without_retry_after_backoff_grows_and_stays_under_the_cap() {
        let p = RetryPolicy::default();
        let waits: Vec<Duration> = (1..=5)
            .map(|n| match p.decide(n, S(0), Failure::Transport, 0.999) {
                Decision::RetryAfter(w) => w,
                Decision::GiveUp => panic!("gave up at {n}"),
            })
            .collect();
        assert!(waits.windows(2).all(|w| w[1] > w[0]), "{waits:?}");
        assert!(waits.iter().all(|w| *w <= p.max_delay));
        // Jitter 0 still waits a little.
        assert!(p.backoff(3, 0.0) >= p.base_delay / 10);
    }

    #[test]
    fn throttling_is_waited_out_past_the_attempt_cap_within_the_time_cap() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.decide(9, S(30), Failure::Throttled(Some(S(2))), 0.5),
            Decision::RetryAfter(S(2))
        );
        assert_eq!(
            p.decide(9, S(30), Failure::Throttled(None), 0.5),
            Decision::GiveUp
        );
        assert_eq!(
            p.decide(9, S(119), Failure::Throttled(Some(S(2))), 0.5),
            Decision::GiveUp
        );
    }

    #[test]
    fn caps_on_attempts_elapsed_time_and_absurd_retry_after() {
        let p = RetryPolicy::default();
        assert_eq!(p.decide(6, S(0), Failure::Transport, 0.5), Decision::GiveUp);
        assert_eq!(
            p.decide(2, S(119), Failure::Throttled(Some(S(5))), 0.5),
            Decision::GiveUp
        );
        assert_eq!(
            p.decide(1, S(0), Failure::Throttled(Some(S(3600))), 0.5),
            Decision::GiveUp
        );
        assert_eq!(p.decide(1, S(0), Failure::Permanent, 0.5), Decision::GiveUp);
    }

    #[test]
    fn jitter_is_uniform_enough_and_reproducible() {
        let mut a = Jitter::seeded(42);
        let mut b = Jitter::seeded(42);
        let xs: Vec<f64> = (0..1000).map(|_| a.sample()).collect();
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = xs.iter().sum::<f64>() / 1000.0;
        assert!((mean - 0.5).abs() < 0.05, "{mean}");
        assert_eq!(b.sample(), xs[0]);
    }
}
