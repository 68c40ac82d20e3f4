//! The tenant's clock: wall time derived from `tokio::time::Instant` plus an offset
//! tests can move forward, so token expiry, throttle windows and delta-token age work
//! under a paused clock or [`crate::sandbox::Tenant::advance_clock`] without sleeping.

use std::sync::Mutex;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::time::Instant;

/// Wall-clock time at start plus elapsed tokio time plus a test offset.
#[derive(Debug)]
pub(crate) struct Clock {
    wall0: OffsetDateTime,
    t0: Instant,
    offset: Mutex<Duration>,
}

impl Clock {
    pub fn new() -> Self {
        Self {
            wall0: OffsetDateTime::now_utc(),
            t0: Instant::now(),
            offset: Mutex::new(Duration::ZERO),
        }
    }

    fn offset(&self) -> Duration {
        self.offset.lock().map(|o| *o).unwrap_or_default()
    }

    /// Monotonic "now" for windows and buckets.
    pub fn instant(&self) -> Instant {
        Instant::now() + self.offset()
    }

    /// Wall-clock "now".
    pub fn now(&self) -> OffsetDateTime {
        self.wall0 + (self.instant() - self.t0)
    }

    /// Unix seconds now.
    pub fn unix(&self) -> i64 {
        self.now().unix_timestamp()
    }

    /// Move the tenant's time forward.
    pub fn advance(&self, by: Duration) {
        if let Ok(mut o) = self.offset.lock() {
            *o += by;
        }
    }

    /// Graph's `innerError.date`: `2023-02-20T05:06:48` (no zone, no fraction).
    pub fn graph_date(&self) -> String {
        let n = self.now();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            n.year(),
            u8::from(n.month()),
            n.day(),
            n.hour(),
            n.minute(),
            n.second()
        )
    }
}
