//! Single flight: concurrent callers with the same key share one execution.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OnceCell;

/// Runs at most one future per key at a time; callers that arrive while it
/// runs get its result. If the running caller is dropped, a waiting one takes
/// over (`OnceCell` semantics), so nobody stalls.
pub(crate) struct Flights<K, V> {
    running: Mutex<HashMap<K, Arc<OnceCell<V>>>>,
}

impl<K: Eq + Hash + Clone, V: Clone> Flights<K, V> {
    pub(crate) fn new() -> Self {
        Flights {
            running: Mutex::new(HashMap::new()),
        }
    }

    /// The result of `work` for `key`, shared with concurrent callers.
    pub(crate) async fn run<F, Fut>(&self, key: &K, work: F) -> V
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V>,
    {
        let cell = {
            let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
            running
                .entry(key.clone())
                .or_insert_with(|| Arc::new(OnceCell::new()))
                .clone()
        };
        let value = cell.get_or_init(work).await.clone();
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if running
            .get(key)
            .is_some_and(|current| Arc::ptr_eq(current, &cell))
        {
            running.remove(key);
        }
        value
    }

    /// How many keys have a flight in progress.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_share_one_run() {
        let flights = Arc::new(Flights::<u8, usize>::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let flights = flights.clone();
                let runs = runs.clone();
                tokio::spawn(async move {
                    flights
                        .run(&1, || async {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            runs.fetch_add(1, Ordering::SeqCst) + 1
                        })
                        .await
                })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap(), 1);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(flights.len(), 0);
        // A later call runs again.
        assert_eq!(flights.run(&1, || async { 7 }).await, 7);
    }

    #[tokio::test]
    async fn a_dropped_leader_does_not_stall_the_others() {
        let flights = Arc::new(Flights::<u8, u8>::new());
        let leader = {
            let flights = flights.clone();
            tokio::spawn(async move {
                flights
                    .run(&1, || async {
                        tokio::time::sleep(Duration::from_secs(60)).await;
                        0
                    })
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        let follower = {
            let flights = flights.clone();
            tokio::spawn(async move { flights.run(&1, || async { 5 }).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        leader.abort();
        let value = tokio::time::timeout(Duration::from_secs(5), follower)
            .await
            .expect("the follower finished")
            .unwrap();
        assert_eq!(value, 5);
    }
}
