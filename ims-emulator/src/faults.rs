//! Fault injection: error statuses, `Retry-After`, latency and dropped connections for requests
//! whose path starts with a prefix.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::locks::lock;

/// A failure to inject, as posted to `POST /__emulator/faults`.
///
/// ```
/// use ims_emulator::FaultSpec;
/// let fault = FaultSpec::new("/ims/token").status(503).retry_after(2).count(1);
/// assert_eq!(fault.status, Some(503));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FaultSpec {
    /// Requests whose path starts with this prefix are affected (e.g. `/ims/token`).
    pub path_prefix: String,
    /// Answer with this status (and an IMS error body) instead of handling the request.
    #[serde(default)]
    pub status: Option<u16>,
    /// `Retry-After` seconds to send with the status.
    #[serde(default)]
    pub retry_after: Option<u64>,
    /// Delay before answering (or before handling, when no status is set).
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// Close the connection without any response.
    #[serde(default)]
    pub drop_connection: bool,
    /// Affect only the next `count` matching requests (all of them when `None`).
    #[serde(default)]
    pub count: Option<u32>,
}

impl FaultSpec {
    /// A fault for paths starting with `path_prefix` that does nothing yet: add a status,
    /// latency or a dropped connection.
    pub fn new(path_prefix: impl Into<String>) -> Self {
        Self {
            path_prefix: path_prefix.into(),
            status: None,
            retry_after: None,
            latency_ms: None,
            drop_connection: false,
            count: None,
        }
    }

    /// Answer with `status`.
    pub fn status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Send `Retry-After: secs`.
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// Wait `ms` milliseconds first.
    pub fn latency_ms(mut self, ms: u64) -> Self {
        self.latency_ms = Some(ms);
        self
    }

    /// Close the connection without answering.
    pub fn drop_connection(mut self) -> Self {
        self.drop_connection = true;
        self
    }

    /// Only the next `n` matching requests.
    pub fn count(mut self, n: u32) -> Self {
        self.count = Some(n);
        self
    }

    /// Checks the spec; the error text says what is wrong.
    pub(crate) fn check(&self) -> Result<(), String> {
        if !self.path_prefix.starts_with('/') {
            return Err("path_prefix must start with /".into());
        }
        if let Some(s) = self.status
            && !(400..=599).contains(&s)
        {
            return Err("status must be between 400 and 599".into());
        }
        if self.status.is_none() && self.latency_ms.is_none() && !self.drop_connection {
            return Err("a fault needs status, latency_ms or drop_connection".into());
        }
        if self.count == Some(0) {
            return Err("count must be at least 1".into());
        }
        if self.latency_ms.is_some_and(|ms| ms > 600_000) {
            return Err("latency_ms must be at most 600000".into());
        }
        Ok(())
    }
}

/// The installed faults.
#[derive(Debug, Default)]
pub(crate) struct FaultTable {
    faults: Mutex<Vec<FaultSpec>>,
}

impl FaultTable {
    pub(crate) fn add(&self, fault: FaultSpec) {
        lock(&self.faults).push(fault);
    }

    pub(crate) fn clear(&self) {
        lock(&self.faults).clear();
    }

    /// The first fault matching `path`, counting it down.
    pub(crate) fn take(&self, path: &str) -> Option<FaultSpec> {
        let mut faults = lock(&self.faults);
        let index = faults
            .iter()
            .position(|f| path.starts_with(&f.path_prefix))?;
        let fault = faults[index].clone();
        if let Some(n) = faults[index].count.as_mut() {
            *n = n.saturating_sub(1);
            if *n == 0 {
                faults.remove(index);
            }
        }
        Some(fault)
    }
}

/// Per-connection handle (the `ConnectInfo`): lets a fault close the connection.
#[derive(Debug, Clone)]
pub(crate) struct ConnHandle {
    kill: Arc<AtomicBool>,
}

impl ConnHandle {
    pub(crate) fn kill(&self) {
        self.kill.store(true, Ordering::SeqCst);
    }
}

impl Connected<IncomingStream<'_, KillableListener>> for ConnHandle {
    fn connect_info(stream: IncomingStream<'_, KillableListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A TCP listener whose connections can be killed from a handler.
#[derive(Debug)]
pub(crate) struct KillableListener {
    inner: TcpListener,
}

impl KillableListener {
    pub(crate) fn new(inner: TcpListener) -> Self {
        Self { inner }
    }
}

impl Listener for KillableListener {
    type Io = KillableStream;
    type Addr = ConnHandle;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, _remote) = Listener::accept(&mut self.inner).await;
        // Small answers go out at once (no Nagle delay against delayed ACKs).
        let _ = stream.set_nodelay(true);
        let kill = Arc::new(AtomicBool::new(false));
        (
            KillableStream {
                inner: stream,
                kill: kill.clone(),
            },
            ConnHandle { kill },
        )
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()?;
        Ok(ConnHandle {
            kill: Arc::new(AtomicBool::new(false)),
        })
    }
}

/// A TCP stream that fails every write once killed, so the server closes it without answering.
#[derive(Debug)]
pub(crate) struct KillableStream {
    inner: TcpStream,
    kill: Arc<AtomicBool>,
}

impl KillableStream {
    fn killed(&self) -> bool {
        self.kill.load(Ordering::SeqCst)
    }
}

fn reset() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionReset,
        "connection dropped by injected fault",
    )
}

impl AsyncRead for KillableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.killed() {
            return Poll::Ready(Err(reset()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.killed() {
            return Poll::Ready(Err(reset()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.killed() {
            return Poll::Ready(Err(reset()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.killed() {
            return Poll::Ready(Err(reset()));
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
