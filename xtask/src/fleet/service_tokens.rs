//! Measurement 5: service tokens. Three `ims-demo service-token` processes,
//! each with `tasks` concurrent tasks, ask for the token of one
//! server-to-server context through the database's shared token cache
//! (`ContextTokenProvider` over `SqlTokenCache`): first with nothing cached,
//! then with the cached token expired. IMS token calls are counted at the
//! emulator, which answers token requests slowly so that the processes'
//! flights overlap.

use std::time::{SystemTime, UNIX_EPOCH};

use super::Fleet;
use super::procs::subcommand_command;
use crate::commands::Result;

/// The context's name (its `ims_token_cache` row).
const CONTEXT: &str = "fleet-svc";
/// Processes asking at once.
pub(super) const PROCESSES: usize = 3;
/// The emulator's delay on token requests.
const TOKEN_LATENCY_MS: u64 = 1000;

/// One burst of processes.
#[derive(Debug, Clone)]
pub(super) struct TokenBurst {
    pub(super) token_calls: u64,
    /// Each process's `expires_at_ms` (the same token has the same expiry).
    pub(super) expiries: Vec<String>,
    /// Distinct tokens the processes' tasks got, summed over processes.
    pub(super) distinct_in_processes: u64,
}

impl TokenBurst {
    pub(super) fn same_token(&self) -> bool {
        self.expiries.windows(2).all(|w| w[0] == w[1])
            && self.distinct_in_processes == self.expiries.len() as u64
    }

    pub(super) fn distinct_expiries(&self) -> usize {
        let mut expiries = self.expiries.clone();
        expiries.sort();
        expiries.dedup();
        expiries.len()
    }

    pub(super) fn met(&self) -> bool {
        self.token_calls == 1 && self.same_token()
    }
}

/// Both bursts.
#[derive(Debug, Clone)]
pub(super) struct ServiceTokens {
    pub(super) tasks: usize,
    pub(super) empty: TokenBurst,
    pub(super) expired: TokenBurst,
}

fn value<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(&format!("{key}="))? + key.len() + 1;
    line[start..]
        .split([';', ',', ')', ' ', '\n', '\r'])
        .next()
        .filter(|v| !v.is_empty())
}

fn burst(fleet: &Fleet, tasks: usize) -> Result<TokenBurst> {
    fleet.emulator.reset_stats()?;
    fleet.emulator.slow("/ims/token", TOKEN_LATENCY_MS)?;
    let tasks_text = tasks.to_string();
    let args = [
        "service-token",
        "--context",
        CONTEXT,
        "--tasks",
        tasks_text.as_str(),
    ];
    let envs = [
        ("IMS_SERVICE_CLIENT_ID", super::S2S_CLIENT_ID),
        ("IMS_SERVICE_CLIENT_SECRET", super::S2S_CLIENT_SECRET),
    ];
    let mut children = Vec::new();
    for _ in 0..PROCESSES {
        let child = subcommand_command(
            &fleet.binary,
            &fleet.db,
            &fleet.key,
            &fleet.emulator.base,
            &args,
            &envs,
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run ims-demo service-token: {e}"))?;
        fleet.db.track(child.id());
        children.push(child);
    }
    let mut expiries = Vec::new();
    let mut distinct_in_processes = 0;
    let mut failures = Vec::new();
    for child in children {
        let out = child
            .wait_with_output()
            .map_err(|e| format!("ims-demo service-token: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            failures.push(String::from_utf8_lossy(&out.stderr).trim().to_owned());
            continue;
        }
        expiries.push(value(&stdout, "expires_at_ms").unwrap_or("?").to_owned());
        distinct_in_processes += value(&stdout, "distinct_tokens")
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
    }
    fleet.emulator.clear_faults()?;
    if !failures.is_empty() {
        return Err(format!(
            "ims-demo service-token failed: {}",
            failures.join("; ")
        ));
    }
    let token_calls = fleet.emulator.stats()?.token_calls();
    Ok(TokenBurst {
        token_calls,
        expiries,
        distinct_in_processes,
    })
}

pub(super) fn service_tokens(fleet: &Fleet, tasks: usize) -> Result<ServiceTokens> {
    eprintln!(
        "==> fleet: {PROCESSES} processes × {tasks} tasks ask for one context's service token"
    );
    let empty = burst(fleet, tasks)?;
    // The cached token expires: as time passing would, by its row.
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_millis();
    fleet.db.query(&format!(
        "UPDATE {} SET access_token_expires_at = {} WHERE context_name = '{CONTEXT}'",
        fleet.db.table("ims_token_cache"),
        now_ms.saturating_sub(1000)
    ))?;
    let expired = burst(fleet, tasks)?;
    Ok(ServiceTokens {
        tasks,
        empty,
        expired,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commands_line_is_read() {
        let line = "context fleet-svc: token expires at 2026-12-04 9:00:00.0 +00:00:00 (expires_at_ms=1796374800000); tasks=100, distinct_tokens=1\n";
        assert_eq!(value(line, "expires_at_ms"), Some("1796374800000"));
        assert_eq!(value(line, "distinct_tokens"), Some("1"));
        assert_eq!(value(line, "tasks"), Some("100"));
        assert_eq!(value(line, "nothing"), None);
    }
}
