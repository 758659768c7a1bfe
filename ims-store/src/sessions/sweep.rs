//! The periodic sweep of expired sessions.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::{SESSION_LOG_TARGET, SqlSessionStore};

/// The running sweep of a [`SqlSessionStore`]: deletes expired sessions
/// every period until dropped (or [`stop`](Self::stop)ped). A failed sweep
/// is logged (target [`SESSION_LOG_TARGET`]) and the next one runs as
/// planned — unlike tower-sessions' `continuously_delete_expired`, which
/// ends at its first error.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> ims_api::Result<()> {
/// use std::time::Duration;
/// use ims_store::{PendingRule, Store, StoreOptions};
///
/// let store = Store::connect("sqlite::memory:", StoreOptions::new()).await?;
/// # let rule = PendingRule::new(|_| true); // admin-ims's: `admin_ims::axum::is_pending_session`
/// // Keep the handle as long as the app runs (in its state, or a `let`).
/// let sweep = store.sessions(rule).spawn_sweep(Duration::from_secs(60));
/// // ... serve ...
/// println!("{} expired sessions deleted in {} sweeps", sweep.deleted(), sweep.runs());
/// sweep.stop();
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct SessionSweep {
    task: JoinHandle<()>,
    counters: Arc<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    runs: AtomicU64,
    failures: AtomicU64,
    deleted: AtomicU64,
}

impl SessionSweep {
    /// Sweeps that ran (failed ones included).
    pub fn runs(&self) -> u64 {
        self.counters.runs.load(Ordering::Relaxed)
    }

    /// Sweeps that failed.
    pub fn failures(&self) -> u64 {
        self.counters.failures.load(Ordering::Relaxed)
    }

    /// Expired sessions deleted so far.
    pub fn deleted(&self) -> u64 {
        self.counters.deleted.load(Ordering::Relaxed)
    }

    /// Stops sweeping.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for SessionSweep {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SqlSessionStore {
    /// Sweeps expired sessions now and then every `period` (at least one
    /// second), on the current tokio runtime, until the returned
    /// [`SessionSweep`] is dropped. One sweeping instance is enough for a
    /// fleet; several are harmless.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime (as `tokio::spawn`).
    pub fn spawn_sweep(&self, period: Duration) -> SessionSweep {
        let store = self.clone();
        let counters = Arc::new(Counters::default());
        let shared = Arc::clone(&counters);
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(period.max(Duration::from_secs(1)));
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match store.sweep().await {
                    Ok(deleted) => {
                        shared.deleted.fetch_add(deleted, Ordering::Relaxed);
                    }
                    Err(err) => {
                        shared.failures.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(target: SESSION_LOG_TARGET, event = "session_sweep_failed", error = %err, "could not delete the expired sessions; trying again next period");
                    }
                }
                shared.runs.fetch_add(1, Ordering::Relaxed);
            }
        });
        SessionSweep { task, counters }
    }
}
