//! Admin sessions in the database (`--sessions database`, the default on
//! PostgreSQL and MySQL): a session made through one demo instance
//! is accepted by another on the same database, survives a restart, and a
//! logout on one instance ends it on all of them.
#![allow(clippy::unwrap_used)]

mod support;

use ims_demo::cli::{CommonArgs, ServeArgs, SessionPlace};
use ims_demo::wiring::{self, RunningDemo};
use ims_emulator::default_seed as seed;
use reqwest::redirect::Policy;
use support::{location, sign_in_at_ims};
use url::Url;

/// The fleet's public address (its load balancer's): the redirect URIs at
/// IMS are the same whichever instance starts a sign-in. Nothing listens
/// there; the test sends each request to the instance it chooses.
const PUBLIC_URL: &str = "http://127.0.0.1:9/";

/// One instance on `database`: the first starts the emulator, the others
/// use it (as a fleet uses one IMS) and keep the settings it saved.
async fn instance(database: &str, ims_url: Option<&str>) -> RunningDemo {
    let common = CommonArgs {
        database: database.to_owned(),
        ims_url: ims_url.map(str::to_owned),
        public_url: Some(PUBLIC_URL.to_owned()),
    };
    let serve = ServeArgs {
        sessions: SessionPlace::Database,
        ..ServeArgs::on("127.0.0.1:0".parse().unwrap())
    };
    let demo = wiring::start(&common, &serve).await.unwrap();
    assert!(demo.shared_sessions, "sessions in the database");
    demo
}

/// Signs in on one instance, is let in by a second one, by that second one
/// restarted, and signed out everywhere by a logout on one.
async fn one_session_for_the_fleet(database: &str) {
    let a = instance(database, None).await;
    let ims = a.emulator_url.clone().unwrap();
    let b = instance(database, Some(&ims)).await;
    // One browser: its cookie (host-only, ports aside) goes to every instance.
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let on = |demo: &RunningDemo, path: &str| format!("http://{}{path}", demo.addr);

    // Not signed in anywhere yet.
    let anonymous = browser.get(on(&b, "/admin")).send().await.unwrap();
    assert_eq!(anonymous.status(), 302);

    // The sign-in starts on B and ends on A: the pending state is shared too.
    let login = browser
        .get(on(&b, "/admin/ims/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 302);
    let callback = Url::parse(&sign_in_at_ims(&browser, &location(&login)).await).unwrap();
    let on_a = format!("{}?{}", on(&a, callback.path()), callback.query().unwrap());
    let landed = browser.get(on_a).send().await.unwrap();
    assert_eq!(landed.status(), 303, "the callback on A found B's state");
    assert_eq!(location(&landed), "/admin");

    for demo in [&a, &b] {
        let page = browser.get(on(demo, "/admin")).send().await.unwrap();
        assert_eq!(page.status(), 200, "signed in on {}", demo.addr);
        assert!(page.text().await.unwrap().contains(seed::MEMBER_EMAIL));
    }

    // B restarts: the session is still there.
    b.stop().await;
    let b = instance(database, Some(&ims)).await;
    let page = browser.get(on(&b, "/admin")).send().await.unwrap();
    assert_eq!(page.status(), 200, "the session survived the restart");

    // A logout on B ends the session on A too.
    let out = browser
        .post(on(&b, "/admin/ims/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    let after = browser.get(on(&a, "/admin")).send().await.unwrap();
    assert_eq!(after.status(), 302, "signed out on A by B's logout");
    let to = location(&after);
    assert!(to.contains("login"), "{to}");
    b.stop().await;
    a.stop().await;
}

/// On a SQLite file with `--sessions database` (on PostgreSQL and MySQL
/// the demo's default; the store's conformance suite runs the same session
/// store there, and a server database would need the key in the process
/// environment, which a test may not set).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_is_shared_by_instances_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("fleet.db").display());
    one_session_for_the_fleet(&database).await;
}

/// `--sessions auto` (the default) keeps a SQLite demo's sessions in memory:
/// a file would take a synchronous write for every anonymous sign-in start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_demo_keeps_sessions_in_memory_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let common = CommonArgs {
        database: format!("sqlite:{}", dir.path().join("one.db").display()),
        ims_url: None,
        public_url: None,
    };
    let demo = wiring::start(&common, &ServeArgs::on("127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap();
    assert!(!demo.shared_sessions);
    demo.stop().await;
}
