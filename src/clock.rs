//! Wall-clock time that tests can drive: the system clock in production,
//! tokio's (pausable) clock in tests, so a simulated week runs in
//! milliseconds and never depends on real sleeps.

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Copy)]
pub enum Clock {
    System,
    /// `base` at the tokio instant `start`; advances with tokio's clock, so
    /// `tokio::time::pause()` and `advance()` move it.
    Tokio {
        base: DateTime<Utc>,
        start: tokio::time::Instant,
    },
}

impl Clock {
    /// A clock reading `base` now and following tokio's time from here.
    pub fn tokio_from(base: DateTime<Utc>) -> Clock {
        Clock::Tokio {
            base,
            start: tokio::time::Instant::now(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Tokio { base, start } => {
                *base + chrono::Duration::from_std(start.elapsed()).unwrap_or(chrono::Duration::MAX)
            }
        }
    }

    /// Sleeps until `t` (at once if it is past). Callers re-read `now()`
    /// after waking: the system clock may have been adjusted meanwhile.
    pub async fn sleep_until(&self, t: DateTime<Utc>) {
        let wait = (t - self.now()).to_std().unwrap_or_default();
        tokio::time::sleep(wait).await;
    }

    /// Sleeps until `t`, or for ever when there is nothing to wake for.
    pub async fn sleep_until_some(&self, t: Option<DateTime<Utc>>) {
        match t {
            Some(t) => self.sleep_until(t).await,
            None => std::future::pending().await,
        }
    }
}
