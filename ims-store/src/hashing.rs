//! The bound on argon2 work: every password hash and verification of the
//! store runs through one [`HashLimiter`], which lets at most a few run at
//! once (one per core by default) and makes the others queue for a bounded
//! time before giving up with [`PasswordHashBusy`].
//!
//! An argon2id hash at the default cost takes 19 MiB and tens of
//! milliseconds of one core: without a bound, a burst of sign-ins (right or
//! wrong, known user or not) allocates 19 MiB per request on the blocking
//! pool and starves every other request of CPU. The hashes run on as many
//! dedicated threads as the bound allows (see `Workers`).

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use ims_api::Error;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Password hashing was at its concurrency bound for longer than the
/// store's wait ([`StoreOptions::with_password_hash_wait`](crate::StoreOptions::with_password_hash_wait)):
/// the request should be answered "try again later" (HTTP 503 with
/// `Retry-After`), not retried at once.
///
/// Reaches callers as the source of an [`Error::Storage`]; find it with
/// [`PasswordHashBusy::in_error`].
///
/// ```
/// use std::time::Duration;
/// use ims_store::PasswordHashBusy;
///
/// let err = ims_api::Error::storage("x", std::io::Error::other("disk full"));
/// assert!(PasswordHashBusy::in_error(&err).is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("password hashing is busy: try again in {} s", retry_after.as_secs())]
#[non_exhaustive]
pub struct PasswordHashBusy {
    /// How long the caller should wait before trying again (whole seconds,
    /// at least one).
    pub retry_after: Duration,
}

impl PasswordHashBusy {
    /// The busy error inside a store error, if that is what it is.
    pub fn in_error(err: &Error) -> Option<&PasswordHashBusy> {
        match err {
            Error::Storage {
                source: Some(source),
                ..
            } => source.downcast_ref::<PasswordHashBusy>(),
            _ => None,
        }
    }

    pub(crate) fn into_error(self) -> Error {
        Error::Storage {
            message: "password hashing is at its concurrency bound".to_owned(),
            source: Some(Box::new(self)),
        }
    }
}

/// Counters of the store's password hashing, for monitoring (and the tests
/// that prove the bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PasswordHashStats {
    /// How many hashes or verifications may run at once.
    pub concurrency: usize,
    /// How many ran to completion.
    pub completed: u64,
    /// How many gave up waiting ([`PasswordHashBusy`]).
    pub busy: u64,
    /// The most that ever ran at the same time.
    pub peak_running: usize,
}

pub(crate) struct HashLimiter {
    permits: Arc<Semaphore>,
    concurrency: usize,
    wait: Duration,
    counters: Arc<Counters>,
    workers: Arc<Workers>,
}

#[derive(Default)]
struct Counters {
    running: AtomicUsize,
    peak_running: AtomicUsize,
    completed: AtomicU64,
    busy: AtomicU64,
    /// A moving average of one run's duration, in microseconds (0: none
    /// yet), to spend comparable time where a refusal skips the hash.
    average_micros: AtomicU64,
}

/// A turn to hash: hold it while checking what must be checked right
/// before hashing, then [`run`](HashPermit::run) the work or drop it.
pub(crate) struct HashPermit {
    _permit: OwnedSemaphorePermit,
    counters: Arc<Counters>,
    workers: Arc<Workers>,
}

impl HashPermit {
    /// Runs `work` on a hashing thread under this permit.
    pub(crate) async fn run<T, F>(self, what: &'static str, work: F) -> Result<T, Error>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.run_keeping(what, work)
            .await
            .map(|(value, _permit)| value)
    }

    /// Runs `work` on a hashing thread under this permit, and hands the
    /// permit back: the caller keeps the turn while it records what the
    /// work found (a failed sign-in), so that the next caller sees it.
    pub(crate) async fn run_keeping<T, F>(
        self,
        what: &'static str,
        work: F,
    ) -> Result<(T, HashPermit), Error>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let counters = Arc::clone(&self.counters);
        let workers = Arc::clone(&self.workers);
        let (sender, receiver) = tokio::sync::oneshot::channel();
        // The permit travels with the work and comes back with its result:
        // if the caller's future is dropped meanwhile (a client hanging up),
        // the permit is released only when the work has ended, so abandoned
        // hashes still count against the bound.
        workers.run(Box::new(move || {
            let running = counters.running.fetch_add(1, Ordering::SeqCst) + 1;
            counters.peak_running.fetch_max(running, Ordering::SeqCst);
            let started = Instant::now();
            let value = work();
            counters.observe(started.elapsed());
            counters.completed.fetch_add(1, Ordering::Relaxed);
            counters.running.fetch_sub(1, Ordering::SeqCst);
            let _ = sender.send((value, self));
        }));
        receiver.await.map_err(|err| Error::storage(what, err))
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// The threads that hash: as many as the bound, started at the first hash,
/// living as long as the store. Dedicated threads keep argon2's memory to
/// one allocator arena each: on the shared blocking pool, every thread that
/// ever hashed kept its own 19 MiB (the allocator does not give a freed
/// block of that size back), and the pool has up to 512 threads.
struct Workers {
    count: usize,
    sender: OnceLock<Option<std::sync::mpsc::Sender<Job>>>,
}

impl Workers {
    fn new(count: usize) -> Self {
        Workers {
            count,
            sender: OnceLock::new(),
        }
    }

    fn run(&self, job: Job) {
        let sender = self.sender.get_or_init(|| self.start());
        let job = match sender {
            Some(sender) => match sender.send(job) {
                Ok(()) => return,
                Err(std::sync::mpsc::SendError(job)) => job,
            },
            None => job,
        };
        // No hashing thread could be started: the blocking pool, still
        // under the bound's permits.
        drop(tokio::task::spawn_blocking(job));
    }

    fn start(&self) -> Option<std::sync::mpsc::Sender<Job>> {
        let (sender, receiver) = std::sync::mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        let mut started = 0;
        for n in 0..self.count {
            let receiver = Arc::clone(&receiver);
            let spawned = std::thread::Builder::new()
                .name(format!("ims-store-argon2-{n}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while waiting for a job; the
                        // loop ends when the store (the sender) is dropped.
                        let job = match receiver.lock() {
                            Ok(receiver) => receiver.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => {
                                // A panicking hash must not take the thread
                                // with it: its caller sees "interrupted".
                                let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
                            }
                            Err(_) => return,
                        }
                    }
                });
            if spawned.is_ok() {
                started += 1;
            }
        }
        (started > 0).then_some(sender)
    }
}

impl Counters {
    fn observe(&self, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX).max(1);
        // Racy updates lose a sample now and then: fine for an average.
        let old = self.average_micros.load(Ordering::Relaxed);
        let new = if old == 0 {
            micros
        } else {
            old - old / 8 + micros / 8
        };
        self.average_micros.store(new, Ordering::Relaxed);
    }
}

impl HashLimiter {
    pub(crate) fn new(concurrency: usize, wait: Duration) -> Self {
        let concurrency = concurrency.clamp(1, Semaphore::MAX_PERMITS);
        HashLimiter {
            permits: Arc::new(Semaphore::new(concurrency)),
            concurrency,
            wait,
            counters: Arc::default(),
            workers: Arc::new(Workers::new(concurrency)),
        }
    }

    /// One per available core, at least one.
    pub(crate) fn default_concurrency() -> usize {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    }

    /// Runs `work` (argon2) on a hashing thread once a permit is free,
    /// waiting at most the configured time for it.
    pub(crate) async fn run<T, F>(&self, what: &'static str, work: F) -> Result<T, Error>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.acquire().await?.run(what, work).await
    }

    /// Waits (at most the configured time) for a turn to hash.
    pub(crate) async fn acquire(&self) -> Result<HashPermit, Error> {
        match tokio::time::timeout(self.wait, Arc::clone(&self.permits).acquire_owned()).await {
            Ok(Ok(permit)) => Ok(HashPermit {
                _permit: permit,
                counters: Arc::clone(&self.counters),
                workers: Arc::clone(&self.workers),
            }),
            // The semaphore is never closed; treat that like a full one.
            Ok(Err(_)) | Err(_) => {
                self.counters.busy.fetch_add(1, Ordering::Relaxed);
                Err(self.busy_error().into_error())
            }
        }
    }

    fn busy_error(&self) -> PasswordHashBusy {
        let seconds = self.wait.as_secs() + u64::from(self.wait.subsec_nanos() > 0);
        PasswordHashBusy {
            retry_after: Duration::from_secs(seconds.max(1)),
        }
    }

    /// What one hash typically takes (zero before the first one).
    pub(crate) fn typical_duration(&self) -> Duration {
        Duration::from_micros(self.counters.average_micros.load(Ordering::Relaxed))
    }

    pub(crate) fn stats(&self) -> PasswordHashStats {
        PasswordHashStats {
            concurrency: self.concurrency,
            completed: self.counters.completed.load(Ordering::Relaxed),
            busy: self.counters.busy.load(Ordering::Relaxed),
            peak_running: self.counters.peak_running.load(Ordering::SeqCst),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::sync::{Condvar, Mutex};

    /// A gate the blocking work waits at until the test opens it.
    #[derive(Default)]
    struct Gate {
        open: Mutex<bool>,
        opened: Condvar,
    }

    impl Gate {
        fn wait(&self) {
            let mut open = self.open.lock().unwrap();
            while !*open {
                open = self.opened.wait(open).unwrap();
            }
        }
        fn open(&self) {
            *self
                .open
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = true;
            self.opened.notify_all();
        }
    }

    /// Opens the gate when dropped: a failed assertion must not leave the
    /// blocking work (and so the runtime's shutdown) waiting forever.
    struct OpenOnDrop(Arc<Gate>);

    impl Drop for OpenOnDrop {
        fn drop(&mut self) {
            self.0.open();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_than_the_bound_run_at_once() {
        let limiter = Arc::new(HashLimiter::new(2, Duration::from_secs(3600)));
        let gate = Arc::new(Gate::default());
        let _open = OpenOnDrop(Arc::clone(&gate));
        let arrived = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let (limiter, gate, arrived) = (
                    Arc::clone(&limiter),
                    Arc::clone(&gate),
                    Arc::clone(&arrived),
                );
                tokio::spawn(async move {
                    arrived.fetch_add(1, Ordering::SeqCst);
                    limiter.run("test", move || gate.wait()).await.unwrap();
                })
            })
            .collect();
        // Every caller is at the limiter and the bound's worth is running
        // (blocked at the gate); an unbounded limiter would let all 64 in
        // while we look.
        while arrived.load(Ordering::SeqCst) < 64
            || limiter.counters.running.load(Ordering::SeqCst) < 2
        {
            tokio::task::yield_now().await;
        }
        for _ in 0..1000 {
            tokio::task::yield_now().await;
        }
        assert_eq!(limiter.counters.running.load(Ordering::SeqCst), 2);
        gate.open();
        for task in tasks {
            task.await.unwrap();
        }
        let stats = limiter.stats();
        assert_eq!(stats.completed, 64);
        assert_eq!(stats.peak_running, 2, "{stats:?}");
        assert_eq!(stats.busy, 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn waiting_past_the_deadline_is_a_typed_busy_error() {
        let limiter = Arc::new(HashLimiter::new(1, Duration::from_millis(20)));
        let gate = Arc::new(Gate::default());
        let _open = OpenOnDrop(Arc::clone(&gate));
        let holder = {
            let (limiter, gate) = (Arc::clone(&limiter), Arc::clone(&gate));
            tokio::spawn(async move { limiter.run("test", move || gate.wait()).await })
        };
        while limiter.counters.running.load(Ordering::SeqCst) < 1 {
            tokio::task::yield_now().await;
        }
        // The one permit is held until the gate opens: this call must give
        // up after its 20 ms wait, not queue forever.
        let err = limiter.run("test", || ()).await.unwrap_err();
        let busy = PasswordHashBusy::in_error(&err).unwrap();
        assert_eq!(busy.retry_after, Duration::from_secs(1));
        assert!(err.is_transient());
        assert_eq!(limiter.stats().busy, 1);
        gate.open();
        holder.await.unwrap().unwrap();
        // Free again: the next call runs.
        limiter.run("test", || ()).await.unwrap();
    }

    #[test]
    fn the_retry_after_rounds_up_to_whole_seconds() {
        let limiter = HashLimiter::new(1, Duration::from_millis(2500));
        assert_eq!(limiter.busy_error().retry_after, Duration::from_secs(3));
        let limiter = HashLimiter::new(0, Duration::ZERO);
        assert_eq!(limiter.busy_error().retry_after, Duration::from_secs(1));
        assert_eq!(limiter.stats().concurrency, 1);
    }
}
