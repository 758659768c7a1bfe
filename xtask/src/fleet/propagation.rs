//! Measurement 2: how long a change made through A takes to be seen by B
//! and C. Each round: a fresh token, accepted by A, B and C (so each holds
//! it as trusted); then the change; then B and C are polled with the token
//! until they refuse it (a 4xx). The round's figure is the later of the
//! two, counted from the moment the change was done (A's answer, or the
//! operator command's exit).

use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::http::Connection;
use super::procs::Demo;
use super::session::Jar;
use super::{Fleet, http};
use crate::commands::Result;

/// How long B and C are polled before the round counts as not seen (past
/// today's 30 s hot-cache TTL, so that the before figure is measured).
pub(super) const CAP: Duration = Duration::from_secs(40);
/// The pause between two polls of one instance.
const POLL_PAUSE: Duration = Duration::from_millis(5);

/// The change a round makes.
#[derive(Clone, Copy)]
pub(super) enum Change<'a> {
    /// `POST /admin/webapi-tokens/revoke` on A, signed in as an admin.
    Revoke { jar: &'a Jar, admin_id: i64 },
    /// Any other change, made by running this.
    Run(&'a dyn Fn() -> Result),
}

/// One round: per polled instance, milliseconds until it refused the token
/// (`None`: still accepted at [`CAP`]).
#[derive(Debug, Clone)]
pub(super) struct Round {
    pub(super) seen_ms: Vec<(&'static str, Option<f64>)>,
}

impl Round {
    /// When the whole fleet had seen the change.
    pub(super) fn fleet_ms(&self) -> Option<f64> {
        self.seen_ms
            .iter()
            .map(|(_, ms)| *ms)
            .try_fold(0.0_f64, |max, ms| ms.map(|ms| max.max(ms)))
    }
}

/// Asks `demo` for `/rest/V1/me` with `bearer`; the status.
pub(super) fn me(demo: &Demo, bearer: &str) -> Result<u16> {
    Ok(http::once(
        "GET",
        &format!("{}/rest/V1/me", demo.base),
        &[("Authorization", bearer)],
        "",
    )?
    .status)
}

/// One round of `change`.
pub(super) fn round(fleet: &Fleet, change: Change<'_>) -> Result<Round> {
    let token = fleet.emulator.mint(super::MEMBER_EMAIL)?;
    let bearer = format!("Bearer {token}");
    for demo in &fleet.demos {
        let status = me(demo, &bearer)?;
        if status != 200 {
            return Err(format!(
                "instance {} refused a fresh token before the change ({status})",
                demo.name
            ));
        }
    }
    let mut starts = Vec::new();
    let mut pollers = Vec::new();
    for demo in fleet.demos.iter().skip(1) {
        let (tx, rx) = mpsc::channel::<Instant>();
        starts.push(tx);
        let mut connection = Connection::open(&demo.authority())?;
        let request = connection.request("GET", "/rest/V1/me", &[("Authorization", &bearer)], "");
        let name = demo.name;
        pollers.push(std::thread::spawn(
            move || -> Result<(&'static str, Option<f64>)> {
                let Ok(t0) = rx.recv() else {
                    return Ok((name, None));
                };
                loop {
                    connection.send(&request)?;
                    let status = connection.answer()?.status;
                    let elapsed = t0.elapsed();
                    if (400..500).contains(&status) {
                        return Ok((name, Some(elapsed.as_secs_f64() * 1000.0)));
                    }
                    if elapsed > CAP {
                        return Ok((name, None));
                    }
                    std::thread::sleep(POLL_PAUSE);
                }
            },
        ));
    }
    let done = match change {
        Change::Revoke { jar, admin_id } => {
            let [a, ..] = fleet.demos.as_slice() else {
                return Err("no instance".into());
            };
            let answer = http::once(
                "POST",
                &format!("{}/admin/webapi-tokens/revoke", a.base),
                &[
                    ("Content-Type", "application/x-www-form-urlencoded"),
                    ("Cookie", &jar.header()),
                ],
                &format!("admin_user_id={admin_id}"),
            );
            let t0 = Instant::now();
            match answer {
                Ok(answer) if answer.status == 303 => Ok(t0),
                Ok(answer) => Err(format!(
                    "A's revocation answered {} ({:?})",
                    answer.status,
                    answer.header("location")
                )),
                Err(e) => Err(e),
            }
        }
        Change::Run(run) => run().map(|()| Instant::now()),
    };
    let t0 = match done {
        Ok(t0) => t0,
        Err(e) => {
            // The pollers see their start channel close and stop.
            drop(starts);
            for poller in pollers {
                let _ = poller.join();
            }
            return Err(e);
        }
    };
    for start in &starts {
        let _ = start.send(t0);
    }
    let mut seen_ms = Vec::new();
    for poller in pollers {
        seen_ms.push(poller.join().map_err(|_| "a poller panicked")??);
    }
    Ok(Round { seen_ms })
}

/// Waits until a fresh token is accepted by every instance (after a change
/// is undone), at most `limit`.
pub(super) fn wait_until_accepted(fleet: &Fleet, limit: Duration) -> Result {
    let started = Instant::now();
    loop {
        let token = fleet.emulator.mint(super::MEMBER_EMAIL)?;
        let bearer = format!("Bearer {token}");
        let mut all = true;
        for demo in &fleet.demos {
            if me(demo, &bearer)? != 200 {
                all = false;
            }
        }
        if all {
            return Ok(());
        }
        if started.elapsed() > limit {
            return Err(format!(
                "the fleet did not accept a fresh token again within {limit:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The median of `values` (sorted here).
pub(super) fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_is_as_slow_as_its_slowest_instance() {
        let round = Round {
            seen_ms: vec![("B", Some(3.0)), ("C", Some(7.5))],
        };
        assert_eq!(round.fleet_ms(), Some(7.5));
        let missed = Round {
            seen_ms: vec![("B", Some(3.0)), ("C", None)],
        };
        assert_eq!(missed.fleet_ms(), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&mut []), None);
    }
}
