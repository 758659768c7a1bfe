//! The server's limits, attacked over real TCP on 127.0.0.1: trickled
//! headers, idle and kept-alive connections, stalled and slow bodies, a
//! declared 10 GiB body, and more connections than the cap. Timeouts are
//! configured short; every wait is bounded, and the assertions are about
//! what the server did (closed, answered, did not answer), not how fast.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use ims_demo::cli::{CommonArgs, ServeArgs};
use ims_demo::server::{self, ServerLimits};
use ims_demo::wiring;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Far longer than any configured timeout here: an attack still going then
/// means the server did not stop it.
const GIVE_UP: Duration = Duration::from_secs(10);

struct Server {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn start(limits: ServerLimits) -> Server {
    let app = Router::new()
        .route("/", get(|| async { "ok" }))
        .route("/echo", post(|body: String| async move { body }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server::serve(listener, app, limits, async move {
        let _ = stopped.await;
    }));
    Server {
        addr,
        stop: Some(stop),
    }
}

fn short() -> ServerLimits {
    ServerLimits::default()
        .with_header_read_timeout(Duration::from_millis(300))
        .with_idle_timeout(Duration::from_millis(300))
        .with_request_timeout(Duration::from_millis(600))
}

/// Reads until the server closes the connection (or resets it); what it
/// sent meanwhile. `None` if it was still open after [`GIVE_UP`].
async fn read_until_closed(stream: &mut TcpStream) -> Option<String> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(GIVE_UP, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok()
        .map(|()| String::from_utf8_lossy(&received).into_owned())
}

/// The status line of the first answer on `stream`, `None` if none came
/// within `wait`.
async fn status_within(stream: &mut TcpStream, wait: Duration) -> Option<String> {
    let mut received = Vec::new();
    tokio::time::timeout(wait, async {
        let mut buf = [0u8; 1024];
        while !received.windows(2).any(|w| w == b"\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .ok()?;
    let text = String::from_utf8_lossy(&received).into_owned();
    text.lines().next().map(str::to_owned)
}

#[tokio::test]
async fn a_trickled_request_head_is_cut_off() {
    let server = start(short()).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    // One header byte every 50 ms, never the end of the head, for at most
    // GIVE_UP: the server must close the connection long before.
    let trickle = tokio::spawn(async move {
        for _ in 0..(GIVE_UP.as_millis() / 50) {
            if writer.write_all(b"X").await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    });
    let closed = tokio::time::timeout(GIVE_UP, async {
        let mut buf = [0u8; 256];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the trickling connection was still open");
    trickle.abort();
}

#[tokio::test]
async fn idle_and_kept_alive_connections_are_closed() {
    let server = start(short()).await;
    // Connected, never a byte.
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    // One request answered, then silence on the kept-alive connection.
    let mut kept = TcpStream::connect(server.addr).await.unwrap();
    kept.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answered = read_until_closed(&mut kept).await;
    assert!(
        answered
            .as_deref()
            .is_some_and(|text| text.starts_with("HTTP/1.1 200")),
        "{answered:?}"
    );
    assert!(
        read_until_closed(&mut idle).await.is_some(),
        "the idle connection was still open"
    );
}

#[tokio::test]
async fn a_stalled_body_is_cut_off_and_a_slow_one_times_out() {
    let limits = short().with_request_timeout(Duration::from_secs(3600));
    let server = start(limits).await;
    // Half of the declared body, then nothing: the stall timeout closes it.
    let mut stalled = TcpStream::connect(server.addr).await.unwrap();
    stalled
        .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345")
        .await
        .unwrap();
    assert!(
        read_until_closed(&mut stalled).await.is_some(),
        "the stalled upload was still open"
    );

    // A byte every 50 ms keeps the connection busy: the request deadline
    // answers 408.
    let limits = short().with_idle_timeout(Duration::from_secs(3600));
    let server = start(limits).await;
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer
        .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
        .await
        .unwrap();
    let trickle = tokio::spawn(async move {
        for _ in 0..(GIVE_UP.as_millis() / 50) {
            if writer.write_all(b"a").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let mut buf = vec![0u8; 256];
    let n = tokio::time::timeout(GIVE_UP, reader.read(&mut buf))
        .await
        .expect("the slow upload got no answer")
        .unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    trickle.abort();
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let limits = ServerLimits::default()
        .with_max_connections(2)
        .with_header_read_timeout(Duration::from_secs(3600))
        .with_idle_timeout(Duration::from_secs(3600));
    let server = start(limits).await;
    let first = TcpStream::connect(server.addr).await.unwrap();
    let _second = TcpStream::connect(server.addr).await.unwrap();
    // Make sure both are being served (a request on each would do; a
    // completed request on a third, kept-alive, proves the slots are
    // taken by the two idle ones).
    let mut third = TcpStream::connect(server.addr).await.unwrap();
    third
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    // Both slots are held by idle connections: no answer for the third.
    assert_eq!(
        status_within(&mut third, Duration::from_millis(500)).await,
        None,
        "a connection beyond the cap was served"
    );
    // A slot frees up: the third is served.
    drop(first);
    let status = status_within(&mut third, GIVE_UP).await;
    assert_eq!(status.as_deref(), Some("HTTP/1.1 200 OK"));
}

/// The demo itself, as wired: a declared 10 GiB body on the sign-in form is
/// refused at once, none of it read.
#[tokio::test]
async fn the_demo_refuses_a_declared_10_gib_body_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let common = CommonArgs {
        database: format!("sqlite:{}", dir.path().join("demo.db").display()),
        ims_url: None,
        public_url: None,
    };
    let serve = ServeArgs {
        password_only: true,
        ..ServeArgs::on("127.0.0.1:0".parse().unwrap())
    };
    let demo = wiring::start(&common, &serve).await.unwrap();
    for path in ["/admin/login", "/rest/V1/me", "/admin/ims/callback"] {
        let mut stream = TcpStream::connect(demo.addr).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10737418240\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let status = status_within(&mut stream, GIVE_UP).await;
        assert_eq!(
            status.as_deref(),
            Some("HTTP/1.1 413 Payload Too Large"),
            "{path}"
        );
    }
    demo.stop().await;
}

#[test]
fn the_limits_are_read_from_the_command_line() {
    use clap::Parser as _;
    let cli = ims_demo::cli::Cli::try_parse_from([
        "ims-demo",
        "--header-read-timeout",
        "500ms",
        "--idle-timeout",
        "20",
        "--max-connections",
        "7",
    ])
    .unwrap();
    let limits = cli.serve.limits.limits();
    assert_eq!(limits.header_read_timeout, Duration::from_millis(500));
    assert_eq!(limits.idle_timeout, Duration::from_secs(20));
    assert_eq!(limits.max_connections, 7);
    assert_eq!(
        limits.request_timeout,
        ServerLimits::default().request_timeout
    );
    assert!(ims_demo::cli::Cli::try_parse_from(["ims-demo", "--idle-timeout", "0s"]).is_err());
}
