//! The IMS fault matrix for `ims-core`'s transport, one table: every fault
//! kind the emulator injects (and IMS being down altogether), once and
//! persistent, on a call that may be retried (client credentials). The
//! outcome is what `docs/src/reliability.md` documents: transient faults are
//! ridden out within the retry budget, persistent ones are
//! `Error::Unavailable` after exactly `max_retries + 1` attempts, and a
//! `Retry-After` is honoured — a wait longer than the deadline is not cut
//! short by a retry, it ends the call at once and is handed to the caller.
//!
//! Counts are read at the emulator's stats, never from a clock. The
//! single-use authorization code is the exception to retries:
//! `an_authorization_code_is_never_replayed_on_failure` (`emulator_flows`).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use ims_api::{
    ClientCredentials, ClientId, ClientSecret, Error, ImsEnvironment, OrgId, Scopes,
    ServerToServer, TokenGrants,
};
use ims_core::{HttpPolicy, ImsClient};
use ims_emulator::{Emulator, FaultSpec, default_seed as seed};

const TOKEN: &str = "POST /ims/token/v3";

/// Short backoffs and an attempt timeout well under the injected latency;
/// a deadline long enough for every retry of a slow IMS.
fn policy() -> HttpPolicy {
    let mut policy = HttpPolicy::default();
    policy.initial_backoff = Duration::from_millis(5);
    policy.max_backoff = Duration::from_millis(20);
    policy.attempt_timeout = Duration::from_millis(800);
    policy.deadline = Duration::from_secs(10);
    policy
}

fn s2s() -> ServerToServer {
    ServerToServer::new(
        ClientCredentials::new(
            ClientId::parse(seed::S2S_CLIENT_ID).unwrap(),
            ClientSecret::new(seed::S2S_CLIENT_SECRET),
        ),
        Scopes::parse("openid,AdobeID"),
    )
    .with_org(OrgId::parse(seed::ORG_ID).unwrap())
}

/// What a row injects.
enum Fault {
    /// Nothing listens at IMS's address (connection refused).
    Down,
    /// An emulator fault on `/ims/token`.
    Inject(FaultSpec),
}

/// What a row expects.
enum Outcome {
    /// A token, after this many calls at IMS.
    Token { calls: u64 },
    /// `Error::Unavailable` after this many calls (`None`: IMS is not there
    /// to count), with this `retry_after`, its detail naming the failure.
    Unavailable {
        calls: Option<u64>,
        retry_after: Option<Duration>,
        detail: &'static str,
    },
}

struct Row {
    name: &'static str,
    fault: Fault,
    outcome: Outcome,
}

fn inject(spec: FaultSpec) -> Fault {
    Fault::Inject(spec)
}

fn matrix() -> Vec<Row> {
    let token = FaultSpec::new("/ims/token");
    let budget = u64::from(policy().max_retries) + 1;
    vec![
        Row {
            name: "IMS down (connection refused)",
            fault: Fault::Down,
            outcome: Outcome::Unavailable {
                calls: None,
                retry_after: None,
                detail: "could not connect",
            },
        },
        Row {
            name: "500 twice, then an answer: ridden out",
            fault: inject(token.clone().status(500).count(2)),
            outcome: Outcome::Token { calls: 3 },
        },
        Row {
            name: "503 until the budget's last attempt: ridden out",
            fault: inject(token.clone().status(503).retry_after(0).count(3)),
            outcome: Outcome::Token { calls: budget },
        },
        Row {
            name: "502 persistent: the retry budget, then unavailable",
            fault: inject(token.clone().status(502)),
            outcome: Outcome::Unavailable {
                calls: Some(budget),
                retry_after: None,
                detail: "502",
            },
        },
        Row {
            name: "503 persistent with Retry-After: 0: the budget, the header passed on",
            fault: inject(token.clone().status(503).retry_after(0)),
            outcome: Outcome::Unavailable {
                calls: Some(budget),
                retry_after: Some(Duration::ZERO),
                detail: "503",
            },
        },
        Row {
            name: "429 with Retry-After: 1 once: waited out, then an answer",
            fault: inject(token.clone().status(429).retry_after(1).count(1)),
            outcome: Outcome::Token { calls: 2 },
        },
        Row {
            name: "429 with Retry-After beyond the deadline: no early retry, the header passed on",
            fault: inject(token.clone().status(429).retry_after(60)),
            outcome: Outcome::Unavailable {
                calls: Some(1),
                retry_after: Some(Duration::from_secs(60)),
                detail: "429",
            },
        },
        Row {
            name: "latency past the attempt timeout once: retried",
            fault: inject(token.clone().latency_ms(3_000).count(1)),
            outcome: Outcome::Token { calls: 2 },
        },
        Row {
            name: "latency past the attempt timeout, persistent: the budget, then unavailable",
            fault: inject(token.clone().latency_ms(3_000)),
            outcome: Outcome::Unavailable {
                calls: Some(budget),
                retry_after: None,
                detail: "timed out",
            },
        },
        Row {
            name: "dropped connection once: retried",
            fault: inject(token.clone().drop_connection().count(1)),
            outcome: Outcome::Token { calls: 2 },
        },
        Row {
            name: "dropped connection, persistent: the budget, then unavailable",
            fault: inject(token.drop_connection()),
            outcome: Outcome::Unavailable {
                calls: Some(budget),
                retry_after: None,
                detail: "POST /ims/token/v3",
            },
        },
    ]
}

/// An address where nothing listens.
fn refused_base() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_has_its_documented_outcome() {
    for row in matrix() {
        let ims = Emulator::builder().start().await.unwrap();
        let base = match &row.fault {
            Fault::Down => refused_base(),
            Fault::Inject(spec) => {
                ims.inject_fault(spec.clone()).unwrap();
                ims.base().to_owned()
            }
        };
        let client =
            ImsClient::with_policy(ImsEnvironment::custom(&base).unwrap(), policy()).unwrap();
        let result = client.client_credentials(&s2s()).await;
        let calls = ims.stats().count(TOKEN);
        let name = row.name;
        match row.outcome {
            Outcome::Token { calls: expected } => {
                assert!(result.is_ok(), "{name}: {result:?}");
                assert_eq!(calls, expected, "{name}: calls at IMS");
            }
            Outcome::Unavailable {
                calls: expected,
                retry_after,
                detail,
            } => {
                let err = result.unwrap_err();
                let Error::Unavailable {
                    detail: got,
                    retry_after: got_retry_after,
                } = &err
                else {
                    panic!("{name}: {err:?}");
                };
                assert!(got.contains(detail), "{name}: {got}");
                assert_eq!(*got_retry_after, retry_after, "{name}: retry_after");
                if let Some(expected) = expected {
                    assert_eq!(calls, expected, "{name}: calls at IMS");
                }
                assert!(
                    !err.to_string().contains(seed::S2S_CLIENT_SECRET),
                    "{name}: {err}"
                );
            }
        }
        ims.shutdown().await;
    }
}
