//! Admission control: beyond a bound of applications waiting in `submitted`, submissions are
//! answered 429 with `Retry-After` and nothing is stored.
//!
//! Counting the backlog is an index range scan, O(backlog); at peak load (hundreds of submissions a
//! second against a backlog of 100,000) counting on every submission would cost more than storing.
//! So the count is taken at most every [`RECOUNT`] and, in between, this process's own admissions
//! are added to it. The estimate is exact for one process (workers only lower the true figure, so it
//! errs towards refusing) and, with several gateways on one database, sees the others' submissions at
//! the next recount: the bound may be overshot by what they accept in [`RECOUNT`], never by more.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::StatusCode;

use crate::api::problem::Problem;
use crate::store::Store;

/// How long a count of the backlog is trusted.
pub const RECOUNT: Duration = Duration::from_millis(250);

/// Seconds a refused caller is told to wait.
const RETRY_AFTER_S: u64 = 5;

/// The backlog bound and the running estimate.
#[derive(Debug)]
pub struct Admission {
    limit: u64,
    estimate: Mutex<Estimate>,
}

#[derive(Debug, Default)]
struct Estimate {
    counted_at: Option<Instant>,
    waiting: u64,
}

impl Admission {
    /// Refuse submissions once `limit` applications are waiting.
    pub fn new(limit: u64) -> Admission {
        Admission {
            limit,
            estimate: Mutex::new(Estimate::default()),
        }
    }

    /// Ok when one more application may be stored; otherwise the 429 to answer.
    pub async fn admit(&self, store: &dyn Store) -> Result<(), Problem> {
        let trusted = {
            let e = self.estimate.lock().unwrap_or_else(|p| p.into_inner());
            e.counted_at
                .filter(|at| at.elapsed() < RECOUNT)
                .map(|_| e.waiting)
        };
        let waiting = match trusted {
            Some(n) => n,
            None => {
                let n = store.backlog().await?;
                let mut e = self.estimate.lock().unwrap_or_else(|p| p.into_inner());
                *e = Estimate {
                    counted_at: Some(Instant::now()),
                    waiting: n,
                };
                n
            }
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
        let mut e = self.estimate.lock().unwrap_or_else(|p| p.into_inner());
        e.waiting += 1;
    }
}
