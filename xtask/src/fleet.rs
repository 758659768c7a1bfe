//! `cargo xtask fleet [--backend postgres|mysql|both] [--short] [--record-before]`:
//! a fleet of three release `ims-demo` instances (A, B, C) on one database,
//! measured against issue #15's goals, on PostgreSQL then MySQL/MariaDB.
//!
//! Per backend: a fresh schema (PostgreSQL) or database (MySQL) on the
//! server of `IMS_TEST_POSTGRES_URL` / `IMS_TEST_MYSQL_URL` (`db.rs`), one
//! `ims-emulator` process whose control API counts every IMS call, the
//! three demos pointed at it (`--ims-url`, the integration enabled by A at
//! start), then:
//!
//! 1. one new token, 3 × N concurrent `GET /rest/V1/me` (`burst.rs`);
//! 2. a revocation through A (its admin page), an admin locked and the
//!    integration disabled (operator commands), each polled on B and C
//!    until refused (`propagation.rs`);
//! 3. a session signed in on A used on B and C (`session.rs`);
//! 4. `kill -9` of A while it validates a new token (`leader.rs`);
//! 5. 3 processes × 100 tasks asking for one service token
//!    (`service_tokens.rs`).
//!
//! The figures go to the `fleet` section of `BENCHMARKS.md`, beside the
//! figures recorded with `--record-before` (section `fleet-before`) when
//! there are some; a missed goal makes the command fail. Every process and
//! the database are cleaned up on failure too, and by a guard process when
//! xtask itself is interrupted (`db.rs`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Read as _;
use std::path::PathBuf;
use std::time::Duration;

mod burst;
mod db;
mod http;
mod leader;
mod procs;
mod propagation;
mod service_tokens;
mod session;

use db::{Backend, ScratchDb};
use procs::{Demo, Emulator, subcommand, subcommand_command};
use propagation::{Change, Round};

use crate::commands::{Result, target_dir, workspace_root};
use crate::report::{self, output};

/// The emulator's organization, clients and member (its default seed).
const ORG_ID: &str = "A1B2C3D4E5F6A7B8C9D0E1F2@AdobeOrg";
const WEB_CLIENT_ID: &str = "emulator-web";
const WEB_CLIENT_SECRET: &str = "emulator-web-secret";
const S2S_CLIENT_ID: &str = "emulator-s2s";
const S2S_CLIENT_SECRET: &str = "emulator-s2s-secret";
const MEMBER_EMAIL: &str = "member@example.com";
const MEMBER_PASSWORD: &str = "member-password";
/// The member's admin user name in the demos.
const MEMBER_USERNAME: &str = "member";

/// Rounds of disabling the integration.
const DISABLE_ROUNDS: usize = 3;

/// The goals.
const PROPAGATION_MAX_MS: f64 = 1000.0;
const PROPAGATION_MEDIAN_MS: f64 = 200.0;

/// How much the run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Size {
    per_instance: usize,
    rounds: usize,
    tasks: usize,
    short: bool,
}

const FULL: Size = Size {
    per_instance: 1000,
    rounds: 20,
    tasks: 100,
    short: false,
};
const SHORT: Size = Size {
    per_instance: 200,
    rounds: 5,
    tasks: 100,
    short: true,
};

#[derive(Debug, PartialEq, Eq)]
struct Options {
    backends: Vec<Backend>,
    size: Size,
    record_before: bool,
}

const USAGE: &str =
    "usage: cargo xtask fleet [--backend postgres|mysql|both] [--short] [--record-before]";

fn parse_args(args: &[String]) -> Result<Options> {
    let mut options = Options {
        backends: vec![Backend::Postgres, Backend::MySql],
        size: FULL,
        record_before: false,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--short" => options.size = SHORT,
            "--record-before" => options.record_before = true,
            "--backend" => {
                options.backends = match args.next().map(String::as_str) {
                    Some("postgres") => vec![Backend::Postgres],
                    Some("mysql") => vec![Backend::MySql],
                    Some("both") => vec![Backend::Postgres, Backend::MySql],
                    other => return Err(format!("--backend {other:?}: {USAGE}")),
                }
            }
            other => return Err(format!("unknown option {other:?}: {USAGE}")),
        }
    }
    Ok(options)
}

/// The three instances on one database, and what they share.
struct Fleet {
    /// A, B, C (fields drop in order: the demos go before the database).
    demos: Vec<Demo>,
    emulator: Emulator,
    db: ScratchDb,
    binary: PathBuf,
    /// `IMS_DEMO_KEY`: one encryption key for the fleet.
    key: String,
}

impl Fleet {
    fn names(&self) -> String {
        self.demos
            .iter()
            .map(|d| d.name)
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn subcommand(&self, args: &[&str]) -> Result<String> {
        subcommand(
            &self.binary,
            &self.db,
            &self.key,
            &self.emulator.base,
            args,
            &[],
        )
    }
}

/// `cargo xtask fleet`.
pub(crate) fn fleet(args: &[String]) -> Result {
    let options = parse_args(args)?;
    let mut build = crate::commands::cargo();
    build.args([
        "build",
        "--release",
        "--locked",
        "-p",
        "ims-demo",
        "-p",
        "ims-emulator",
    ]);
    crate::commands::run("cargo build --release -p ims-demo -p ims-emulator", build)?;
    let release = target_dir().join("release");
    let dir = std::env::temp_dir().join(format!("ims-fleet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let before = read_before();
    let mut sections = Vec::new();
    let mut missed = Vec::new();
    for backend in &options.backends {
        let rows = match run_backend(*backend, options.size, &release, &dir) {
            Ok(rows) => rows,
            Err(e) => vec![Row::error("setup", "the fleet could not run", &e)],
        };
        for row in rows.iter().filter(|r| !r.met) {
            missed.push(format!("{}: {}", backend.label(), row.label));
        }
        sections.push((*backend, rows));
    }
    let markdown = markdown(&sections, &before, options.size);
    eprintln!("{markdown}");
    report::write_section("fleet", &markdown)?;
    if options.record_before {
        report::write_section("fleet-before", &before_markdown(&sections, options.size))?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    match missed.as_slice() {
        [] => Ok(()),
        _ => Err(format!("fleet goals missed: {}", missed.join("; "))),
    }
}

/// A base64 32-byte key from `/dev/urandom`.
fn random_key() -> Result<String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| format!("cannot read /dev/urandom: {e}"))?;
    Ok(base64(&bytes))
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Starts the fleet on a fresh database of `backend` and measures it.
fn run_backend(
    backend: Backend,
    size: Size,
    release: &std::path::Path,
    dir: &std::path::Path,
) -> Result<Vec<Row>> {
    let admin_url = std::env::var(backend.env())
        .ok()
        .filter(|u| !u.is_empty())
        .ok_or_else(|| {
            format!(
                "set {} to a {} server (e.g. {})",
                backend.env(),
                backend.label(),
                match backend {
                    Backend::Postgres => "postgres://postgres@127.0.0.1:5432/test",
                    Backend::MySql => "mysql://root@127.0.0.1:3306/test",
                }
            )
        })?;
    eprintln!("==> fleet on {}", backend.label());
    let dir = dir.join(backend.flag());
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let name = format!("ims_fleet_{}_{}", std::process::id(), backend.flag());
    let db = ScratchDb::create(backend, &admin_url, &name, &dir.join("pids"))?;
    let emulator = Emulator::start(&release.join("ims-emulator"), &dir, &db)?;
    let key = random_key()?;
    let binary = release.join("ims-demo");
    subcommand(
        &binary,
        &db,
        &key,
        &emulator.base,
        &[
            "admin:user:create",
            "--admin-user",
            MEMBER_USERNAME,
            "--admin-email",
            MEMBER_EMAIL,
            "--admin-firstname",
            "Mia",
            "--admin-lastname",
            "Member",
            "--admin-password",
            "fleet-password-1",
        ],
        &[],
    )?;
    // A enables the integration at start; B and C use the saved settings.
    let serve = |args: &[&str], envs: &[(&str, &str)]| {
        let mut all = vec!["--addr", "127.0.0.1:0"];
        all.extend_from_slice(args);
        subcommand_command(&binary, &db, &key, &emulator.base, &all, envs)
    };
    let a = Demo::start(
        "A",
        &dir,
        &db,
        serve(
            &[
                "--client-id",
                WEB_CLIENT_ID,
                "--organization-id",
                ORG_ID,
                "--2fa",
                "yes",
            ],
            &[("IMS_CLIENT_SECRET", WEB_CLIENT_SECRET)],
        ),
    )?;
    let mut demos = vec![a];
    for name in ["B", "C"] {
        demos.push(Demo::start(name, &dir, &db, serve(&[], &[]))?);
    }
    let mut fleet = Fleet {
        demos,
        emulator,
        db,
        binary,
        key,
    };
    measure(&mut fleet, size)
}

/// Every measurement, in the order that keeps the fleet usable: the kill
/// of A comes last but for the service tokens, which need no instance.
fn measure(fleet: &mut Fleet, size: Size) -> Result<Vec<Row>> {
    // Warm every instance (key set, settings) with another token; the
    // answer names the member's admin id.
    let warm = fleet.emulator.mint(MEMBER_EMAIL)?;
    let mut admin_id = None;
    for demo in &fleet.demos {
        let answer = http::once(
            "GET",
            &format!("{}/rest/V1/me", demo.base),
            &[("Authorization", &format!("Bearer {warm}"))],
            "",
        )?;
        if answer.status != 200 {
            return Err(format!(
                "instance {} refused the warm-up token ({}): {}",
                demo.name, answer.status, answer.body
            ));
        }
        admin_id = serde_json::from_str::<serde_json::Value>(&answer.body)
            .ok()
            .and_then(|v| v["id"].as_i64());
    }
    let admin_id = admin_id.ok_or("GET /rest/V1/me named no admin id")?;
    let mut rows = Vec::new();

    let burst = burst::burst(fleet, size.per_instance);
    rows.push(match burst {
        Ok(b) => Row::new(
            "burst",
            &format!("1. One new token, 3 × {} concurrent `GET /rest/V1/me` on A, B, C", size.per_instance),
            format!(
                "{} of {} answered 200 ({}); IMS validations **{}**, profile calls **{}**, membership checks **{}** ({:.0} ms)",
                b.ok,
                b.requests,
                b.statuses
                    .iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                b.stats.validations(),
                b.stats.profiles(),
                b.stats.memberships(),
                b.wall_ms
            ),
            "all 200; 1 validation + 1 profile call (+ ≤ 1 membership check) for the fleet",
            b.met(),
        ),
        Err(e) => Row::error("burst", "1. One new token on A, B, C", &e),
    });

    eprintln!("==> fleet: sign in on A through the emulator's form");
    let jar = session::sign_in(&fleet.demos[0]);
    rows.push(
        match jar
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|jar| session::shared_session(fleet, jar))
        {
            Ok(s) => Row::new(
                "session",
                "3. A session signed in on A, used on B and C",
                format!(
                    "A {}; {}; IMS calls **{}** ({})",
                    s.on_a,
                    s.others
                        .iter()
                        .map(|(name, status, to)| match to {
                            Some(to) => format!("{name} **{status}** → `{to}`"),
                            None => format!("{name} **{status}**"),
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                    s.ims_calls,
                    s.ims_summary
                ),
                "B and C 200 (no redirect), 0 IMS calls",
                s.met(),
            ),
            Err(e) => Row::error(
                "session",
                "3. A session signed in on A, used on B and C",
                &e,
            ),
        },
    );

    eprintln!(
        "==> fleet: {} revocations through A, polled on B and C (up to {:?} each)",
        size.rounds,
        propagation::CAP
    );
    let revocation = match &jar {
        Ok(jar) => {
            let mut rounds = Vec::new();
            let mut failure = None;
            for _ in 0..size.rounds {
                match propagation::round(fleet, Change::Revoke { jar, admin_id }) {
                    Ok(round) => rounds.push(round),
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
            }
            match failure {
                Some(e) => Err(e),
                None => Ok(rounds),
            }
        }
        Err(e) => Err(format!("no session on A to revoke through: {e}")),
    };
    rows.push(propagation_row(&revocation, size.rounds));

    eprintln!("==> fleet: lock the admin (operator command), poll B and C");
    let lock = |fleet: &Fleet| {
        fleet
            .subcommand(&["admin:user:lock", MEMBER_USERNAME])
            .map(drop)
    };
    let locked = propagation::round(fleet, Change::Run(&|| lock(fleet)));
    rows.push(single_row(
        "lock",
        "2b. An admin locked (`ims-demo admin:user:lock`), seen by B and C",
        &locked,
    ));
    fleet.subcommand(&["admin:user:unlock", MEMBER_USERNAME])?;
    propagation::wait_until_accepted(fleet, Duration::from_secs(60))?;

    eprintln!(
        "==> fleet: disable the integration (operator command) {DISABLE_ROUNDS} times, poll B and C"
    );
    // Several rounds: one could land just as an instance's settings copy
    // expires and look fast by luck.
    let disable = |fleet: &Fleet| fleet.subcommand(&["admin:adobe-ims:disable"]).map(drop);
    let mut disabled = Vec::new();
    for _ in 0..DISABLE_ROUNDS {
        let round = propagation::round(fleet, Change::Run(&|| disable(fleet)));
        let failed = round.is_err();
        disabled.push(round);
        fleet.subcommand(&[
            "admin:adobe-ims:enable",
            "-o",
            ORG_ID,
            "-c",
            WEB_CLIENT_ID,
            "-s",
            WEB_CLIENT_SECRET,
            "-t",
            "yes",
        ])?;
        propagation::wait_until_accepted(fleet, Duration::from_secs(60))?;
        if failed {
            break;
        }
    }
    rows.push(rounds_row(
        "disable",
        &format!(
            "2c. The integration disabled (`ims-demo admin:adobe-ims:disable`), seen by B and C ({DISABLE_ROUNDS} rounds)"
        ),
        &disabled,
    ));

    let label = "4. `kill -9` of A while it validates a new token";
    rows.push(match leader::kill_the_leader(fleet) {
        Ok(k) => {
            let mut statuses: BTreeMap<String, u64> = BTreeMap::new();
            for (_, status, _) in &k.answers {
                let key = match status {
                    Ok(s) => s.to_string(),
                    Err(_) => "no answer".to_owned(),
                };
                *statuses.entry(key).or_insert(0) += 1;
            }
            Row::new(
                "leader",
                label,
                format!(
                    "IMS {} ms slow; A killed {:.0} ms after its request; {} requests to B and C: {}; slowest **{:.0} ms**; record rows **{}**; then B and C: {}; validations {}",
                    leader::VALIDATION_LATENCY_MS,
                    k.killed_after_ms,
                    k.answers.len(),
                    statuses.iter().map(|(s, n)| format!("{n} × {s}")).collect::<Vec<_>>().join(", "),
                    k.slowest_ms(),
                    k.rows.map_or_else(|| "?".to_owned(), |n| n.to_string()),
                    k.after.iter().map(|(n, s)| format!("{n} {s}")).collect::<Vec<_>>().join(", "),
                    k.validations
                ),
                &format!(
                    "every request answered within {} s (IMS deadline {} s + {} s); 1 row; works on B and C",
                    (leader::IMS_DEADLINE + leader::SLACK).as_secs(),
                    leader::IMS_DEADLINE.as_secs(),
                    leader::SLACK.as_secs()
                ),
                k.met(),
            )
        }
        Err(e) => Row::error("leader", label, &e),
    });

    match service_tokens::service_tokens(fleet, size.tasks) {
        Ok(s) => {
            for (key, what, burst) in [
                ("service-empty", "nothing cached", &s.empty),
                ("service-expired", "the cached token expired", &s.expired),
            ] {
                rows.push(Row::new(
                    key,
                    &format!(
                        "5. Service token, {what}: {} processes × {} tasks",
                        service_tokens::PROCESSES,
                        s.tasks
                    ),
                    format!(
                        "IMS token calls **{}**; one token in every process: {} ({} distinct expiries, {} distinct tokens within processes)",
                        burst.token_calls,
                        if burst.same_token() { "yes" } else { "**no**" },
                        burst.distinct_expiries(),
                        burst.distinct_in_processes
                    ),
                    "1 token call; one token",
                    burst.met(),
                ));
            }
        }
        Err(e) => rows.push(Row::error("service-empty", "5. Service tokens", &e)),
    }
    rows.sort_by(|a, b| a.label.cmp(&b.label));
    Ok(rows)
}

fn ms(value: f64) -> String {
    format!("{value:.0} ms")
}

fn propagation_row(rounds: &Result<Vec<Round>>, asked: usize) -> Row {
    let label = format!("2. A revocation through A (admin page), seen by B and C ({asked} rounds)");
    match rounds {
        Ok(rounds) => {
            let seen: Vec<f64> = rounds.iter().filter_map(Round::fleet_ms).collect();
            let missing = rounds.len() - seen.len();
            let max = seen.iter().copied().fold(0.0, f64::max);
            let median = propagation::median(&mut seen.clone());
            let figure = match median {
                Some(median) if missing == 0 => {
                    format!("median **{}**, max **{}**", ms(median), ms(max))
                }
                _ => format!(
                    "{missing} of {} rounds not seen within {} s; of the others median {}, max {}",
                    rounds.len(),
                    propagation::CAP.as_secs(),
                    median.map_or_else(|| "-".into(), ms),
                    ms(max)
                ),
            };
            let met = missing == 0
                && !rounds.is_empty()
                && max <= PROPAGATION_MAX_MS
                && median.is_some_and(|m| m <= PROPAGATION_MEDIAN_MS);
            Row::new(
                "propagation",
                &label,
                figure,
                "max ≤ 1 s, median ≤ 200 ms",
                met,
            )
        }
        Err(e) => Row::error("propagation", &label, e),
    }
}

/// Several rounds of one change, judged by the slowest.
fn rounds_row(key: &str, label: &str, rounds: &[Result<Round>]) -> Row {
    if let Some(Err(e)) = rounds.iter().find(|r| r.is_err()) {
        return Row::error(key, label, e);
    }
    let seen: Vec<Option<f64>> = rounds
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(Round::fleet_ms)
        .collect();
    let shown =
        |v: &Option<f64>| v.map_or_else(|| format!("> {} s", propagation::CAP.as_secs()), ms);
    let slowest = seen
        .iter()
        .try_fold(0.0_f64, |max, v| v.map(|v| max.max(v)));
    Row::new(
        key,
        label,
        format!(
            "max **{}** (rounds: {})",
            shown(&slowest),
            seen.iter().map(shown).collect::<Vec<_>>().join(", ")
        ),
        "≤ 1 s",
        !seen.is_empty() && slowest.is_some_and(|v| v <= PROPAGATION_MAX_MS),
    )
}

fn single_row(key: &str, label: &str, round: &Result<Round>) -> Row {
    match round {
        Ok(round) => {
            let per: Vec<String> = round
                .seen_ms
                .iter()
                .map(|(name, ms)| match ms {
                    Some(v) => format!("{name} {}", self::ms(*v)),
                    None => format!("{name} not within {} s", propagation::CAP.as_secs()),
                })
                .collect();
            let fleet = round.fleet_ms();
            Row::new(
                key,
                label,
                format!(
                    "**{}** ({})",
                    fleet.map_or_else(|| format!("> {} s", propagation::CAP.as_secs()), ms),
                    per.join(", ")
                ),
                "≤ 1 s",
                fleet.is_some_and(|v| v <= PROPAGATION_MAX_MS),
            )
        }
        Err(e) => Row::error(key, label, e),
    }
}

/// One line of a backend's table.
#[derive(Debug, Clone)]
struct Row {
    key: String,
    label: String,
    figure: String,
    goal: String,
    met: bool,
}

impl Row {
    fn new(key: &str, label: &str, figure: String, goal: &str, met: bool) -> Row {
        Row {
            key: key.to_owned(),
            label: label.to_owned(),
            figure,
            goal: goal.to_owned(),
            met,
        }
    }

    fn error(key: &str, label: &str, error: &str) -> Row {
        Row::new(
            key,
            label,
            format!("**error**: {}", error.replace('|', "/").replace('\n', " ")),
            "runs",
            false,
        )
    }
}

/// The figures recorded with `--record-before`: backend → key → figure.
type Before = BTreeMap<String, BTreeMap<String, String>>;

const BEFORE_MARK: &str = "<!-- fleet-before ";

fn read_before() -> Before {
    let text = std::fs::read_to_string(workspace_root().join("BENCHMARKS.md")).unwrap_or_default();
    parse_before(&text)
}

fn parse_before(text: &str) -> Before {
    text.lines()
        .filter_map(|line| line.trim().strip_prefix(BEFORE_MARK)?.strip_suffix(" -->"))
        .filter_map(|rest| {
            let (backend, json) = rest.split_once(' ')?;
            let figures = serde_json::from_str::<BTreeMap<String, String>>(json).ok()?;
            Some((backend.to_owned(), figures))
        })
        .collect()
}

fn header(size: Size) -> String {
    let date = output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).unwrap_or_default();
    let commit = output("git", &["rev-parse", "--short", "HEAD"]).unwrap_or_default();
    let command = if size.short {
        "cargo xtask fleet --short"
    } else {
        "cargo xtask fleet"
    };
    format!(
        "- Date: {}, commit `{}`\n- Command: `{command}` (`--backend postgres|mysql` for one; `.ci/run` runs `--short`)\n- Size: 3 × {} requests in the burst, {} revocation rounds, {DISABLE_ROUNDS} disable rounds, {} processes × {} service-token tasks\n",
        date.trim(),
        commit.trim(),
        size.per_instance,
        size.rounds,
        service_tokens::PROCESSES,
        size.tasks
    )
}

fn markdown(sections: &[(Backend, Vec<Row>)], before: &Before, size: Size) -> String {
    let mut text = String::new();
    let _ = write!(
        text,
        "## Fleet: three release ims-demo instances on one database\n\n\
         Issue #15's goals, measured by `cargo xtask fleet` (`xtask/src/fleet.rs`): one\n\
         `ims-emulator` process as IMS (its control API counts every call), three release\n\
         `ims-demo` instances A, B and C on one fresh PostgreSQL schema or MySQL database,\n\
         pointed at it with `--ims-url`. Propagation is timed from the change being done\n\
         (A's answer, or the operator command's exit) to the later of B and C refusing the\n\
         token (a 4xx), polled every 5 ms on a kept-alive connection. The before column\n\
         is the run recorded with `--record-before` on main before the fleet work.\n\n{}",
        header(size)
    );
    for (backend, rows) in sections {
        let previous = before.get(backend.flag());
        let _ = write!(text, "\n### {}\n\n", backend.label());
        if previous.is_some() {
            text.push_str("| measurement | goal | before | now | |\n|---|---|---|---|---|\n");
        } else {
            text.push_str("| measurement | goal | now | |\n|---|---|---|---|\n");
        }
        for row in rows {
            let verdict = if row.met { "met" } else { "**missed**" };
            match previous {
                Some(previous) => {
                    let was = previous.get(&row.key).map_or("-", String::as_str);
                    let _ = writeln!(
                        text,
                        "| {} | {} | {was} | {} | {verdict} |",
                        row.label, row.goal, row.figure
                    );
                }
                None => {
                    let _ = writeln!(
                        text,
                        "| {} | {} | {} | {verdict} |",
                        row.label, row.goal, row.figure
                    );
                }
            }
        }
        let missed = rows.iter().filter(|r| !r.met).count();
        let _ = write!(
            text,
            "\n{}\n",
            if missed == 0 {
                "**Every goal met.**".to_owned()
            } else {
                format!("**{missed} goal(s) missed.**")
            }
        );
    }
    text
}

fn before_markdown(sections: &[(Backend, Vec<Row>)], size: Size) -> String {
    let mut text = format!(
        "## Fleet: the before figures\n\n\
         `cargo xtask fleet --record-before` on the tree below, kept so that the `fleet`\n\
         section shows each figure before and after. Re-record only on purpose.\n\n{}",
        header(size)
    );
    for (backend, rows) in sections {
        let figures: BTreeMap<&str, &str> = rows
            .iter()
            .map(|r| (r.key.as_str(), r.figure.as_str()))
            .collect();
        let json = serde_json::to_string(&figures).unwrap_or_default();
        let _ = write!(text, "\n{BEFORE_MARK}{} {json} -->\n", backend.flag());
        let _ = writeln!(text, "\n### {}\n", backend.label());
        for row in rows {
            let _ = writeln!(text, "- {}: {}", row.label, row.figure);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn options_are_read() {
        let all = parse_args(&[]).unwrap();
        assert_eq!(all.backends, vec![Backend::Postgres, Backend::MySql]);
        assert_eq!(all.size, FULL);
        let short = parse_args(&args(&["--short", "--backend", "mysql"])).unwrap();
        assert_eq!((short.backends, short.size), (vec![Backend::MySql], SHORT));
        assert!(parse_args(&args(&["--backend"])).is_err());
        assert!(parse_args(&args(&["--backend", "oracle"])).is_err());
        assert!(parse_args(&args(&["--long"])).is_err());
        assert!(
            parse_args(&args(&["--record-before"]))
                .unwrap()
                .record_before
        );
    }

    #[test]
    fn keys_are_base64() {
        assert_eq!(base64(b"Man"), "TWFu");
        assert_eq!(base64(b"Ma"), "TWE=");
        assert_eq!(base64(b"M"), "TQ==");
        assert_eq!(random_key().unwrap().len(), 44);
    }

    #[test]
    fn goals_are_judged_and_the_before_figures_read_back() {
        let round = |ms: Option<f64>| Round {
            seen_ms: vec![("B", Some(1.0)), ("C", ms)],
        };
        let fast = Ok(vec![
            round(Some(50.0)),
            round(Some(150.0)),
            round(Some(900.0)),
        ]);
        assert!(propagation_row(&fast, 3).met);
        let slow_median = Ok(vec![
            round(Some(250.0)),
            round(Some(300.0)),
            round(Some(10.0)),
        ]);
        assert!(!propagation_row(&slow_median, 3).met);
        let too_slow = Ok(vec![
            round(Some(50.0)),
            round(Some(1001.0)),
            round(Some(10.0)),
        ]);
        assert!(!propagation_row(&too_slow, 3).met);
        let unseen = Ok(vec![round(Some(50.0)), round(None)]);
        let row = propagation_row(&unseen, 2);
        assert!(
            !row.met && row.figure.contains("1 of 2 rounds not seen"),
            "{}",
            row.figure
        );
        assert!(!propagation_row(&Err("boom".into()), 2).met);
        assert!(single_row("lock", "x", &Ok(round(Some(999.0)))).met);
        assert!(!single_row("lock", "x", &Ok(round(None))).met);
        let lucky = [Ok(round(Some(150.0))), Ok(round(Some(2500.0)))];
        let row = rounds_row("disable", "x", &lucky);
        assert!(
            !row.met && row.figure.contains("max **2500 ms**"),
            "{}",
            row.figure
        );
        assert!(rounds_row("disable", "x", &[Ok(round(Some(150.0)))]).met);
        assert!(!rounds_row("disable", "x", &[]).met);
        assert!(!rounds_row("disable", "x", &[Ok(round(Some(1.0))), Err("e".into())]).met);

        let rows = vec![Row::new(
            "burst",
            "1. x",
            "3 | validations".into(),
            "1",
            false,
        )];
        let recorded = before_markdown(&[(Backend::Postgres, rows.clone())], SHORT);
        let before = parse_before(&recorded);
        assert_eq!(before["postgres"]["burst"], "3 | validations");
        let now = markdown(&[(Backend::Postgres, rows)], &before, SHORT);
        assert!(now.contains("| before | now |"), "{now}");
        assert!(now.contains("**missed**"));
        assert!(now.contains("1 goal(s) missed"));
    }
}
