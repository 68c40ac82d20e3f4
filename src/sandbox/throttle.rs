//! Service limits (m365-facts B§2.3): the identity resource-unit and write buckets per
//! app+tenant, and the Outlook photo limits per app+mailbox (4 concurrent, 10,000
//! requests per 10 minutes, 15 MB uploaded per 30 s), and the global 2,000 requests/s
//! per app. Buckets refill continuously, so a throttled caller learns exactly how long
//! to wait.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::config::Limits;

/// A token bucket: `cap` tokens, refilled at `cap / window`.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    cap: f64,
    per_sec: f64,
    last: Instant,
}

impl Bucket {
    fn new(cap: f64, window: Duration, now: Instant) -> Self {
        Self {
            tokens: cap,
            cap,
            per_sec: cap / window.as_secs_f64(),
            last: now,
        }
    }

    /// Take `cost` tokens, or say how long until they would be there.
    fn take(&mut self, cost: f64, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.cap);
        self.last = now;
        if self.tokens >= cost {
            self.tokens -= cost;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((cost - self.tokens) / self.per_sec))
        }
    }
}

/// Which limit a request ran into; becomes `x-ms-throttle-information` and the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exceeded {
    ResourceUnits,
    Writes,
    MailboxConcurrency,
    MailboxRequests,
    MailboxUploadBytes,
    AppRequestRate,
}

impl Exceeded {
    pub fn information(self) -> &'static str {
        match self {
            Exceeded::ResourceUnits => "ResourceUnitLimitExceeded",
            Exceeded::Writes => "WriteLimitExceeded",
            Exceeded::MailboxConcurrency => "MailboxConcurrency",
            Exceeded::MailboxRequests => "MailboxRequestRate",
            Exceeded::MailboxUploadBytes => "MailboxUploadBytes",
            Exceeded::AppRequestRate => "ApplicationRequestRate",
        }
    }
}

#[derive(Debug, Default)]
struct Buckets {
    app_requests: HashMap<String, Bucket>,
    resource_units: HashMap<String, Bucket>,
    writes: HashMap<String, Bucket>,
    photo_requests: HashMap<(String, String), Bucket>,
    photo_bytes: HashMap<(String, String), Bucket>,
    in_flight: HashMap<(String, String), u32>,
    peak: u32,
}

/// All buckets of one tenant.
#[derive(Debug)]
pub(crate) struct Limiter {
    limits: Limits,
    resource_units: u32,
    buckets: Arc<Mutex<Buckets>>,
}

/// Holds one in-flight photo request for an app+mailbox; releases it on drop.
#[derive(Debug)]
pub(crate) struct InFlight {
    key: (String, String),
    buckets: Arc<Mutex<Buckets>>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Ok(mut b) = self.buckets.lock() {
            if let Some(n) = b.in_flight.get_mut(&self.key) {
                *n = n.saturating_sub(1);
            }
        }
    }
}

impl Limiter {
    pub fn new(limits: Limits, users: usize) -> Self {
        // Tenant size classes from throttling-limits.md: S < 50, M 50–500, L > 500 users.
        let resource_units = match users {
            0..=49 => limits.resource_units_small,
            50..=500 => limits.resource_units_medium,
            _ => limits.resource_units_large,
        };
        Self {
            limits,
            resource_units,
            buckets: Arc::default(),
        }
    }

    pub fn peak(&self) -> u32 {
        self.buckets.lock().map(|b| b.peak).unwrap_or(0)
    }

    /// Charge one request against the app's global rate (B§2.3: 2,000/s per app; the
    /// bucket holds one second's worth).
    pub fn app(&self, app: &str, now: Instant) -> Result<(), (Exceeded, Duration)> {
        let mut b = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let cap = f64::from(self.limits.app_requests_per_second.max(1));
        b.app_requests
            .entry(app.to_string())
            .or_insert_with(|| Bucket::new(cap, Duration::from_secs(1), now))
            .take(1.0, now)
            .map_err(|w| (Exceeded::AppRequestRate, w))
    }

    /// Charge an identity request `cost` resource units (plus a write for writes).
    pub fn identity(
        &self,
        app: &str,
        cost: u32,
        write: bool,
        now: Instant,
    ) -> Result<(), (Exceeded, Duration)> {
        let mut b = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let cap = f64::from(self.resource_units);
        let ru = b
            .resource_units
            .entry(app.to_string())
            .or_insert_with(|| Bucket::new(cap, Duration::from_secs(10), now));
        ru.take(f64::from(cost), now)
            .map_err(|w| (Exceeded::ResourceUnits, w))?;
        if write {
            let cap = f64::from(self.limits.writes_per_150s);
            let wb = b
                .writes
                .entry(app.to_string())
                .or_insert_with(|| Bucket::new(cap, Duration::from_secs(150), now));
            wb.take(1.0, now).map_err(|w| (Exceeded::Writes, w))?;
        }
        Ok(())
    }

    /// Enter a photo request for app+mailbox. The concurrency peak is tracked even when
    /// `enforce` is off; with it on, the Outlook limits answer 429.
    pub fn photo(
        &self,
        app: &str,
        mailbox: &str,
        upload_bytes: u64,
        enforce: bool,
        now: Instant,
    ) -> Result<InFlight, (Exceeded, Duration)> {
        let key = (app.to_string(), mailbox.to_string());
        let mut b = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let current = b.in_flight.get(&key).copied().unwrap_or(0);
        if enforce {
            if current >= self.limits.photo_concurrency {
                // A concurrency refusal clears as soon as one request finishes.
                return Err((Exceeded::MailboxConcurrency, Duration::from_secs(1)));
            }
            let cap = f64::from(self.limits.photo_requests_per_10min);
            b.photo_requests
                .entry(key.clone())
                .or_insert_with(|| Bucket::new(cap, Duration::from_secs(600), now))
                .take(1.0, now)
                .map_err(|w| (Exceeded::MailboxRequests, w))?;
            if upload_bytes > 0 {
                let cap = self.limits.photo_upload_bytes_per_30s as f64;
                b.photo_bytes
                    .entry(key.clone())
                    .or_insert_with(|| Bucket::new(cap, Duration::from_secs(30), now))
                    .take(upload_bytes as f64, now)
                    .map_err(|w| (Exceeded::MailboxUploadBytes, w))?;
            }
        }
        let n = current + 1;
        b.in_flight.insert(key.clone(), n);
        b.peak = b.peak.max(n);
        Ok(InFlight {
            key,
            buckets: Arc::clone(&self.buckets),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_refuse_then_refill() {
        let now = Instant::now();
        let mut b = Bucket::new(10.0, Duration::from_secs(10), now);
        assert!(b.take(8.0, now).is_ok());
        let wait = b.take(4.0, now).unwrap_err();
        assert!((wait.as_secs_f64() - 2.0).abs() < 1e-6);
        assert!(b.take(4.0, now + Duration::from_secs(2)).is_ok());
    }
}
