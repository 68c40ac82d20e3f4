//! Adaptive pacing for long `$batch` runs: how many batches may be in flight, halved when
//! Graph throttles and grown back by one after a window of clean batches (additive
//! increase, multiplicative decrease). Throttled items are resent anyway (B§2.2); pacing
//! keeps their number — and so the extra requests — small, and lets the run settle at
//! the rate the tenant's limits allow.

use std::sync::Mutex;

use tokio::sync::Notify;

/// The in-flight limit and its count.
#[derive(Debug)]
pub(crate) struct Pace {
    state: Mutex<State>,
    changed: Notify,
}

#[derive(Debug)]
struct State {
    in_flight: usize,
    limit: usize,
    max: usize,
    clean: usize,
}

/// A slot; give it back with [`Pace::done`].
#[derive(Debug)]
pub(crate) struct Slot(());

impl Pace {
    /// Start at `max` batches in flight.
    pub fn new(max: usize) -> Self {
        let max = max.max(1);
        Self {
            state: Mutex::new(State {
                in_flight: 0,
                limit: max,
                max,
                clean: 0,
            }),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wait for a slot.
    pub async fn slot(&self) -> Slot {
        loop {
            let wait = self.changed.notified();
            {
                let mut s = self.lock();
                if s.in_flight < s.limit {
                    s.in_flight += 1;
                    return Slot(());
                }
            }
            wait.await;
        }
    }

    /// Give the slot back, saying whether Graph throttled anything in that batch. The
    /// limit grows by one after eight times its size of clean batches in a row: slowly,
    /// because each overshoot costs a whole batch of resent items.
    pub fn done(&self, _slot: Slot, throttled: bool) {
        {
            let mut s = self.lock();
            s.in_flight = s.in_flight.saturating_sub(1);
            if throttled {
                s.limit = (s.limit / 2).max(1);
                s.clean = 0;
            } else {
                s.clean += 1;
                if s.clean >= 8 * s.limit && s.limit < s.max {
                    s.limit += 1;
                    s.clean = 0;
                }
            }
        }
        self.changed.notify_waiters();
    }

    /// The current limit (tests).
    #[cfg(test)]
    pub fn limit(&self) -> usize {
        self.lock().limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn throttling_halves_and_clean_windows_grow_back() {
        let p = Pace::new(8);
        let s = p.slot().await;
        p.done(s, true);
        assert_eq!(p.limit(), 4);
        let s = p.slot().await;
        p.done(s, true);
        assert_eq!(p.limit(), 2);
        for _ in 0..15 {
            let s = p.slot().await;
            p.done(s, false);
        }
        assert_eq!(p.limit(), 2);
        let s = p.slot().await;
        p.done(s, false);
        assert_eq!(p.limit(), 3);
    }

    #[tokio::test]
    async fn no_more_than_the_limit_are_handed_out() {
        let p = std::sync::Arc::new(Pace::new(2));
        let a = p.slot().await;
        let _b = p.slot().await;
        let p2 = std::sync::Arc::clone(&p);
        let third = tokio::spawn(async move { p2.slot().await });
        tokio::task::yield_now().await;
        assert!(!third.is_finished());
        p.done(a, false);
        let _c = tokio::time::timeout(std::time::Duration::from_secs(1), third)
            .await
            .unwrap()
            .unwrap();
    }
}
