//! The run's database: a fresh PostgreSQL schema or MySQL database on the
//! server of `IMS_TEST_POSTGRES_URL` / `IMS_TEST_MYSQL_URL`, made and
//! dropped with the servers' own clients (`psql`, `mysql`), so that xtask
//! needs no database driver.
//!
//! A guard process drops it even when xtask cannot (a panic, Ctrl-C, a
//! kill): it ignores the terminal's signals and waits on a pipe from xtask;
//! when the pipe closes without xtask having said `done`, it kills the
//! processes listed in the run's pid file and drops the database.

use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::commands::Result;

/// A backend the fleet runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Backend {
    Postgres,
    MySql,
}

impl Backend {
    /// The name in the report.
    pub(super) fn label(self) -> &'static str {
        match self {
            Backend::Postgres => "PostgreSQL",
            Backend::MySql => "MySQL/MariaDB",
        }
    }

    /// The `--backend` value.
    pub(super) fn flag(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::MySql => "mysql",
        }
    }

    /// The variable naming the server.
    pub(super) fn env(self) -> &'static str {
        match self {
            Backend::Postgres => "IMS_TEST_POSTGRES_URL",
            Backend::MySql => "IMS_TEST_MYSQL_URL",
        }
    }
}

/// The parts of a `mysql://user:password@host:port/db` URL.
#[derive(Debug, PartialEq, Eq)]
struct MySqlServer {
    user: String,
    password: Option<String>,
    host: String,
    port: String,
}

impl MySqlServer {
    fn parse(url: &str) -> Result<MySqlServer> {
        let rest = url
            .strip_prefix("mysql://")
            .or_else(|| url.strip_prefix("mariadb://"))
            .ok_or_else(|| "IMS_TEST_MYSQL_URL must start with mysql://".to_owned())?;
        let rest = rest.split(['/', '?']).next().unwrap_or_default();
        let (credentials, address) = rest.rsplit_once('@').unwrap_or(("root", rest));
        let (user, password) = match credentials.split_once(':') {
            Some((user, password)) => (user, Some(password.to_owned())),
            None => (credentials, None),
        };
        let (host, port) = address.rsplit_once(':').unwrap_or((address, "3306"));
        Ok(MySqlServer {
            user: user.to_owned(),
            password,
            host: host.to_owned(),
            port: port.to_owned(),
        })
    }

    fn url(&self, database: &str) -> String {
        let password = self
            .password
            .as_deref()
            .map_or_else(String::new, |p| format!(":{p}"));
        format!(
            "mysql://{}{password}@{}:{}/{database}",
            self.user, self.host, self.port
        )
    }

    /// `mysql` with the connection options (the password in `MYSQL_PWD`,
    /// not on the command line).
    fn client(&self) -> Command {
        let mut command = Command::new("mysql");
        command
            .args(["--protocol=TCP", "-h", &self.host, "-P", &self.port])
            .args(["-u", &self.user, "-N", "-B"]);
        if let Some(password) = &self.password {
            command.env("MYSQL_PWD", password);
        }
        command
    }
}

/// The run's database; dropped (with the guard told) when dropped.
pub(super) struct ScratchDb {
    pub(super) backend: Backend,
    /// What the demos connect to.
    pub(super) url: String,
    /// The schema (PostgreSQL) or database (MySQL) name.
    pub(super) name: String,
    admin_url: String,
    guard: Option<Child>,
    /// The pid file the guard reads: every process this run starts.
    pub(super) pids: PathBuf,
}

impl ScratchDb {
    /// Makes a fresh schema or database named `name` on the server
    /// `admin_url` names, and starts its guard.
    pub(super) fn create(
        backend: Backend,
        admin_url: &str,
        name: &str,
        pids: &Path,
    ) -> Result<ScratchDb> {
        std::fs::write(pids, "").map_err(|e| format!("cannot write {}: {e}", pids.display()))?;
        let (url, create) = match backend {
            Backend::Postgres => {
                let sep = if admin_url.contains('?') { '&' } else { '?' };
                (
                    format!("{admin_url}{sep}options[search_path]={name}"),
                    format!("CREATE SCHEMA {name}"),
                )
            }
            Backend::MySql => (
                MySqlServer::parse(admin_url)?.url(name),
                format!("CREATE DATABASE {name}"),
            ),
        };
        let mut db = ScratchDb {
            backend,
            url,
            name: name.to_owned(),
            admin_url: admin_url.to_owned(),
            guard: None,
            pids: pids.to_owned(),
        };
        db.guard = Some(db.start_guard()?);
        db.query(&create)?;
        Ok(db)
    }

    /// The client command running `sql` on the server.
    fn client(&self, sql: &str) -> Result<Command> {
        Ok(match self.backend {
            Backend::Postgres => {
                let mut command = Command::new("psql");
                command.arg(&self.admin_url).args([
                    "-X",
                    "-q",
                    "-A",
                    "-t",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-c",
                    sql,
                ]);
                command
            }
            Backend::MySql => {
                let mut command = MySqlServer::parse(&self.admin_url)?.client();
                command.args(["-e", sql]);
                command
            }
        })
    }

    /// Runs `sql` on the server; its output, trimmed.
    pub(super) fn query(&self, sql: &str) -> Result<String> {
        let out = self
            .client(sql)?
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                format!(
                    "cannot run the {} client (install postgresql-client / mariadb-client): {e}",
                    self.backend.label()
                )
            })?;
        if !out.status.success() {
            return Err(format!(
                "{sql}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// A table of the run's schema or database, qualified.
    pub(super) fn table(&self, table: &str) -> String {
        format!("{}.{table}", self.name)
    }

    fn drop_sql(&self) -> String {
        match self.backend {
            Backend::Postgres => format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name),
            Backend::MySql => format!("DROP DATABASE IF EXISTS {}", self.name),
        }
    }

    /// The guard: `sh` ignoring INT, TERM and HUP, waiting for a line on
    /// its stdin; anything but `done` (EOF included) kills the pids and
    /// drops the database.
    fn start_guard(&self) -> Result<Child> {
        const SCRIPT: &str = r#"trap '' INT TERM HUP
read -r line
[ "$line" = done ] && exit 0
for pid in $(cat "$FLEET_PIDS" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
"$@" >/dev/null 2>&1
exit 0"#;
        let drop = self.client(&self.drop_sql())?;
        let mut guard = Command::new("sh");
        guard
            .args(["-c", SCRIPT, "fleet-guard"])
            .arg(drop.get_program())
            .args(drop.get_args())
            .envs(
                drop.get_envs()
                    .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))),
            )
            .env("FLEET_PIDS", &self.pids)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: the terminal's Ctrl-C does not reach it.
            .process_group(0);
        guard
            .spawn()
            .map_err(|e| format!("cannot start the cleanup guard: {e}"))
    }

    /// Adds a process to the pids the guard kills.
    pub(super) fn track(&self, pid: u32) {
        if let Ok(mut file) = std::fs::OpenOptions::new().append(true).open(&self.pids) {
            let _ = writeln!(file, "{pid}");
        }
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        match self.query(&self.drop_sql()) {
            Ok(_) => eprintln!("==> fleet: dropped {} {}", self.backend.label(), self.name),
            Err(e) => eprintln!("xtask fleet: could not drop {}: {e}", self.name),
        }
        if let Some(mut guard) = self.guard.take() {
            if let Some(stdin) = guard.stdin.as_mut() {
                let _ = stdin.write_all(b"done\n");
            }
            drop(guard.stdin.take());
            let _ = guard.wait();
        }
        let _ = std::fs::remove_file(&self.pids);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_urls_are_read() {
        let server = MySqlServer::parse("mysql://root@127.0.0.1:3306/test").unwrap();
        assert_eq!(server.user, "root");
        assert_eq!(server.password, None);
        assert_eq!(server.url("x"), "mysql://root@127.0.0.1:3306/x");
        let server = MySqlServer::parse("mysql://app:pw@db:3307/test?ssl-mode=disabled").unwrap();
        assert_eq!(
            (
                server.password.as_deref(),
                server.host.as_str(),
                server.port.as_str()
            ),
            (Some("pw"), "db", "3307")
        );
        assert!(MySqlServer::parse("postgres://x").is_err());
    }
}
