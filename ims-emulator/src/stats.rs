//! Request counters per `"<METHOD> <path>"` (control-API requests are not counted).

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::locks::lock;

/// A snapshot of the request counters, as served by `GET /__emulator/stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Stats {
    /// Requests per `"<METHOD> <path>"`, e.g. `"POST /ims/token/v3"`.
    pub requests: BTreeMap<String, u64>,
    /// All counted requests.
    pub total: u64,
}

impl Stats {
    /// The count for `"<METHOD> <path>"` (0 when never requested).
    pub fn count(&self, method_and_path: &str) -> u64 {
        self.requests.get(method_and_path).copied().unwrap_or(0)
    }
}

/// The live counters.
#[derive(Debug, Default)]
pub(crate) struct StatsTable {
    map: Mutex<BTreeMap<String, u64>>,
}

impl StatsTable {
    pub(crate) fn record(&self, key: String) {
        *lock(&self.map).entry(key).or_insert(0) += 1;
    }

    pub(crate) fn snapshot(&self) -> Stats {
        let requests = lock(&self.map).clone();
        let total = requests.values().sum();
        Stats { requests, total }
    }

    pub(crate) fn reset(&self) {
        lock(&self.map).clear();
    }
}

/// Whether `path` belongs to the test-control API.
pub(crate) fn is_control_path(path: &str) -> bool {
    path == "/__emulator" || path.starts_with("/__emulator/")
}
