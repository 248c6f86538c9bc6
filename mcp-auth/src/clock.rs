//! Time, behind a trait so that tests can control it.
//!
//! Every expiry decision in the crate (`exp`, `nbf`, `iat`, cache lifetimes, refresh cooldowns)
//! reads the time through a [`Clock`]. Production code uses [`SystemClock`]; tests use
//! [`ManualClock`] and move it forward instead of sleeping.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;

    /// The current time as whole seconds since the Unix epoch (the unit of JWT `NumericDate`).
    fn unix_seconds(&self) -> u64 {
        self.now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to. Clones share the same time.
///
/// ```
/// use std::time::Duration;
/// use mcp_auth::clock::{Clock, ManualClock};
///
/// let clock = ManualClock::at_unix(1_700_000_000);
/// clock.advance(Duration::from_secs(61));
/// assert_eq!(clock.unix_seconds(), 1_700_000_061);
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    millis: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock set to `seconds` after the Unix epoch.
    pub fn at_unix(seconds: u64) -> Self {
        Self {
            millis: Arc::new(AtomicU64::new(seconds.saturating_mul(1000))),
        }
    }

    /// A clock set to the current system time.
    pub fn now() -> Self {
        Self::at_unix(SystemClock.unix_seconds())
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.millis.fetch_add(by, Ordering::SeqCst);
    }

    /// Sets the clock to `seconds` after the Unix epoch.
    pub fn set_unix(&self, seconds: u64) {
        self.millis
            .store(seconds.saturating_mul(1000), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.millis.load(Ordering::SeqCst))
    }
}

/// A shared clock, as stored by verifiers and caches.
pub type SharedClock = Arc<dyn Clock>;

#[allow(dead_code)] // used by the verifiers
pub(crate) fn system() -> SharedClock {
    Arc::new(SystemClock)
}
