//! Admission control: beyond a bound of applications waiting in `submitted`, submissions are
//! answered 429 with `Retry-After` and nothing is stored.
//!
//! Counting the backlog is an index range scan, O(backlog); at peak load (hundreds of submissions a
//! second against a backlog of 100,000) counting on every submission would cost more than storing.
//! So the count is taken at most every [`RECOUNT`] and, in between, this process's own admissions
//! are added to it. The estimate is exact for one process (workers only lower the true figure, so it
//! errs towards refusing) and, with several gateways on one database, sees the others' submissions at
//! the next recount: the bound may be overshot by what they accept in [`RECOUNT`], never by more.
//! The age of a count is read from the gateway's [`Clock`], so tests move past a recount instead of
//! sleeping.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::http::StatusCode;

use crate::api::problem::Problem;
use crate::clock::Clock;
use crate::store::Store;

/// How long a count of the backlog is trusted.
pub const RECOUNT: Duration = Duration::from_millis(250);

/// Seconds a refused caller is told to wait.
const RETRY_AFTER_S: u64 = 5;

/// The backlog bound and the running estimate.
pub struct Admission {
    limit: u64,
    clock: Arc<dyn Clock>,
    estimate: Mutex<Estimate>,
}

#[derive(Debug, Default)]
struct Estimate {
    counted_at: Option<SystemTime>,
    waiting: u64,
    /// A recount is under way: the others go on with the last count meanwhile, so a stale
    /// estimate under peak load costs one count, not one per request in flight.
    counting: bool,
}

impl Estimate {
    /// The count, if taken less than [`RECOUNT`] before `now`. A count "taken in the future" (the
    /// wall clock was set back) is not trusted: recounting is always safe, a stale count is not.
    fn trusted(&self, now: SystemTime) -> Option<u64> {
        let at = self.counted_at?;
        let age = now.duration_since(at).ok()?;
        (age < RECOUNT).then_some(self.waiting)
    }
}

impl Admission {
    /// Refuse submissions once `limit` applications are waiting; the age of a count is judged by
    /// `clock`.
    pub fn new(limit: u64, clock: Arc<dyn Clock>) -> Admission {
        Admission {
            limit,
            clock,
            estimate: Mutex::new(Estimate::default()),
        }
    }

    /// Ok when one more application may be stored; otherwise the 429 to answer.
    pub async fn admit(&self, store: &dyn Store) -> Result<(), Problem> {
        let trusted = self.lock().trusted(self.clock.now());
        let waiting = match trusted {
            Some(n) => n,
            None => self.recount(store).await?,
        };
        if waiting >= self.limit {
            return Err(Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "backlog-full",
                "Too many applications waiting",
                format!(
                    "{waiting} applications are waiting to be processed (bound {}); retry later, nothing was stored",
                    self.limit
                ),
            )
            .retry_after(RETRY_AFTER_S));
        }
        Ok(())
    }

    /// One more application was stored by this process.
    pub fn admitted(&self) {
        self.lock().waiting += 1;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Estimate> {
        self.estimate.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Count again — unless another request is counting already and there is a last count to go
    /// on with.
    async fn recount(&self, store: &dyn Store) -> Result<u64, Problem> {
        {
            let mut e = self.lock();
            if e.counting && e.counted_at.is_some() {
                return Ok(e.waiting);
            }
            e.counting = true;
        }
        // Whatever ends the count (an error, the caller going away), the next request may count.
        struct Counting<'a>(&'a Admission);
        impl Drop for Counting<'_> {
            fn drop(&mut self) {
                self.0.lock().counting = false;
            }
        }
        let _counting = Counting(self);
        // The moment before counting: admissions during the count are then recounted at the next
        // recount rather than missed.
        let counted_at = self.clock.now();
        let n = store.backlog().await?;
        let mut e = self.lock();
        e.counted_at = Some(counted_at);
        e.waiting = n;
        Ok(n)
    }
}
