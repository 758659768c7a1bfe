//! The one place that talks to sqlx: a pool of one of the three backends,
//! statements written once (`$1` placeholders, rewritten to `?` for MySQL
//! unless a statement has its own MySQL text), owned bind values, typed
//! column getters, error mapping, and the bounded retry that keeps SQLite's
//! transient "database is locked" from reaching a caller.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use ims_api::Error;
use time::OffsetDateTime;

/// The database behind a [`Store`](crate::Store).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// SQLite (feature `sqlite`, the default).
    Sqlite,
    /// PostgreSQL (feature `postgres`).
    Postgres,
    /// MySQL or MariaDB (feature `mysql`).
    MySql,
}

impl Backend {
    /// The backend a connection URL names by its scheme: `sqlite:`,
    /// `postgres:`/`postgresql:`, `mysql:`/`mariadb:`.
    pub fn from_url(url: &str) -> Option<Backend> {
        let scheme = url.split_once(':')?.0.to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Some(Backend::Sqlite),
            "postgres" | "postgresql" => Some(Backend::Postgres),
            "mysql" | "mariadb" => Some(Backend::MySql),
            _ => None,
        }
    }

    /// The cargo feature that compiles this backend in.
    pub fn feature(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::MySql => "mysql",
        }
    }
}

/// A statement. The text uses `$1`, `$2`, … in the order the values are
/// bound (each once), which SQLite and PostgreSQL accept; for MySQL the
/// placeholders become `?` unless the statement gives its own MySQL text
/// (upserts, `RETURNING`).
pub(crate) struct Sql {
    text: &'static str,
    mysql: Option<&'static str>,
    mysql_rewritten: OnceLock<String>,
}

impl Sql {
    /// A statement whose MySQL form is the same text with `?` placeholders.
    pub(crate) const fn new(text: &'static str) -> Sql {
        Sql {
            text,
            mysql: None,
            mysql_rewritten: OnceLock::new(),
        }
    }

    /// A statement with a MySQL text of its own.
    pub(crate) const fn with_mysql(text: &'static str, mysql: &'static str) -> Sql {
        Sql {
            text,
            mysql: Some(mysql),
            mysql_rewritten: OnceLock::new(),
        }
    }

    /// The text for a backend.
    pub(crate) fn text(&'static self, backend: Backend) -> &'static str {
        match (backend, self.mysql) {
            (Backend::MySql, Some(mysql)) => mysql,
            (Backend::MySql, None) => self
                .mysql_rewritten
                .get_or_init(|| question_marks(self.text)),
            _ => self.text,
        }
    }

    /// The `$n` placeholders of the main text, in order of appearance.
    #[cfg(test)]
    pub(crate) fn placeholders(&self) -> Vec<u32> {
        placeholder_numbers(self.text)
    }

    /// Whether the MySQL text (given or rewritten) has as many `?` as the
    /// main text has placeholders.
    #[cfg(test)]
    pub(crate) fn mysql_matches(&'static self) -> bool {
        let count = self.text(Backend::MySql).matches('?').count();
        count == self.placeholders().len()
    }
}

/// `$12` → `?`, everywhere (the statements hold no string literals with `$`).
fn question_marks(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
fn placeholder_numbers(text: &str) -> Vec<u32> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        rest = &rest[at + 1..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(n) = digits.parse() {
            found.push(n);
        }
    }
    found
}

/// Checks, for tests, that each statement numbers its placeholders 1, 2, 3…
/// in order (so the `?` rewrite binds the same values), and that the MySQL
/// text has as many markers.
#[cfg(test)]
pub(crate) fn assert_statements_well_formed(statements: &[&'static Sql]) {
    for sql in statements {
        let numbers = sql.placeholders();
        let expected: Vec<u32> = (1..=numbers.len() as u32).collect();
        assert_eq!(
            numbers, expected,
            "placeholders out of order in {}",
            sql.text
        );
        assert!(
            sql.mysql_matches(),
            "MySQL text differs in arity: {}",
            sql.text
        );
    }
}

/// A value to bind. Owned, so one list serves a retry.
#[derive(Clone)]
pub(crate) enum Value {
    Int(i64),
    OptInt(Option<i64>),
    Text(String),
    OptText(Option<String>),
    Bytes(Option<Vec<u8>>),
    Bool(bool),
}

impl Value {
    pub(crate) fn time(at: OffsetDateTime) -> Value {
        Value::Int(millis(at))
    }

    pub(crate) fn opt_time(at: Option<OffsetDateTime>) -> Value {
        Value::OptInt(at.map(millis))
    }

    pub(crate) fn text(text: impl Into<String>) -> Value {
        Value::Text(text.into())
    }
}

/// An instant as stored: milliseconds since the Unix epoch.
pub(crate) fn millis(at: OffsetDateTime) -> i64 {
    ims_api::to_unix_millis(at)
}

/// A stored instant.
pub(crate) fn instant(millis: i64) -> Result<OffsetDateTime, Error> {
    ims_api::from_unix_millis(millis).ok_or_else(|| Error::Storage {
        message: "a stored time is out of range".to_owned(),
        source: None,
    })
}

/// A stored optional instant.
pub(crate) fn opt_instant(millis: Option<i64>) -> Result<Option<OffsetDateTime>, Error> {
    millis.map(instant).transpose()
}

/// A connection pool of the backend the URL named.
#[derive(Debug, Clone)]
pub(crate) enum Pool {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
    #[cfg(feature = "mysql")]
    MySql(sqlx::MySqlPool),
}

/// Runs `$body` with `$p` bound to the concrete pool (or row) of the variant.
macro_rules! per_backend {
    ($enum:ident, $value:expr, $p:ident => $body:expr) => {
        match *$value {
            #[cfg(feature = "sqlite")]
            $enum::Sqlite(ref $p) => $body,
            #[cfg(feature = "postgres")]
            $enum::Postgres(ref $p) => $body,
            #[cfg(feature = "mysql")]
            $enum::MySql(ref $p) => $body,
        }
    };
}

/// `sqlx::query` with the values bound in order.
macro_rules! bound {
    ($sql:expr, $params:expr) => {{
        let mut query = sqlx::query($sql);
        for value in $params.iter() {
            query = match value {
                Value::Int(v) => query.bind(*v),
                Value::OptInt(v) => query.bind(*v),
                Value::Text(v) => query.bind(v.clone()),
                Value::OptText(v) => query.bind(v.clone()),
                Value::Bytes(v) => query.bind(v.clone()),
                Value::Bool(v) => query.bind(*v),
            };
        }
        query
    }};
}

/// One result row.
pub(crate) enum Row {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::sqlite::SqliteRow),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::postgres::PgRow),
    #[cfg(feature = "mysql")]
    MySql(sqlx::mysql::MySqlRow),
}

macro_rules! getter {
    ($name:ident, $ty:ty) => {
        pub(crate) fn $name(&self, index: usize) -> Result<$ty, Error> {
            use sqlx::Row as _;
            let got: Result<$ty, sqlx::Error> =
                per_backend!(Row, self, row => row.try_get::<$ty, usize>(index));
            got.map_err(|err| Error::storage("failed to decode a stored row", err))
        }
    };
}

impl Row {
    getter!(int, i64);
    getter!(opt_int, Option<i64>);
    getter!(text, String);
    getter!(opt_text, Option<String>);
    getter!(opt_bytes, Option<Vec<u8>>);
    getter!(boolean, bool);

    pub(crate) fn time(&self, index: usize) -> Result<OffsetDateTime, Error> {
        instant(self.int(index)?)
    }

    pub(crate) fn opt_time(&self, index: usize) -> Result<Option<OffsetDateTime>, Error> {
        opt_instant(self.opt_int(index)?)
    }
}

/// How often a statement that failed transiently (SQLite busy or locked, a
/// deadlock or serialization failure on a server) is tried again, on top of
/// SQLite's `busy_timeout`. Every statement is a single autocommit
/// statement, so a failed one changed nothing and may simply run again.
const TRANSIENT_RETRIES: u32 = 20;

impl Pool {
    pub(crate) fn backend(&self) -> Backend {
        match *self {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(_) => Backend::Sqlite,
            #[cfg(feature = "postgres")]
            Pool::Postgres(_) => Backend::Postgres,
            #[cfg(feature = "mysql")]
            Pool::MySql(_) => Backend::MySql,
        }
    }

    pub(crate) async fn close(&self) {
        per_backend!(Pool, self, pool => pool.close().await)
    }

    /// Rows affected (matched, on MySQL: sqlx asks for `CLIENT_FOUND_ROWS`).
    pub(crate) async fn execute(
        &self,
        what: &'static str,
        sql: &'static Sql,
        params: &[Value],
    ) -> Result<u64, Error> {
        let text = sql.text(self.backend());
        self.retrying(what, || async move {
            per_backend!(Pool, self, pool => bound!(text, params)
                .execute(pool)
                .await
                .map(|done| done.rows_affected()))
        })
        .await
    }

    pub(crate) async fn fetch_optional(
        &self,
        what: &'static str,
        sql: &'static Sql,
        params: &[Value],
    ) -> Result<Option<Row>, Error> {
        let text = sql.text(self.backend());
        self.retrying(what, || async move {
            per_backend!(Pool, self, pool => bound!(text, params)
                .fetch_optional(pool)
                .await
                .map(|row| row.map(Row::from)))
        })
        .await
    }

    pub(crate) async fn fetch_all(
        &self,
        what: &'static str,
        sql: &'static Sql,
        params: &[Value],
    ) -> Result<Vec<Row>, Error> {
        let text = sql.text(self.backend());
        self.retrying(what, || async move {
            per_backend!(Pool, self, pool => bound!(text, params)
                .fetch_all(pool)
                .await
                .map(|rows| rows.into_iter().map(Row::from).collect()))
        })
        .await
    }

    /// Runs an `INSERT` and returns the new row's id: `RETURNING id` on SQLite
    /// and PostgreSQL (the statement's main text must end with it), the last
    /// insert id on MySQL (whose text must not).
    pub(crate) async fn insert_returning_id(
        &self,
        what: &'static str,
        sql: &'static Sql,
        params: &[Value],
    ) -> Result<i64, Error> {
        let text = sql.text(self.backend());
        self.retrying(what, || async move {
            match *self {
                #[cfg(feature = "mysql")]
                Pool::MySql(ref pool) => {
                    let done = bound!(text, params).execute(pool).await?;
                    i64::try_from(done.last_insert_id())
                        .map_err(|err| sqlx::Error::Decode(Box::new(err)))
                }
                #[cfg(feature = "sqlite")]
                Pool::Sqlite(ref pool) => {
                    use sqlx::Row as _;
                    bound!(text, params).fetch_one(pool).await?.try_get(0)
                }
                #[cfg(feature = "postgres")]
                Pool::Postgres(ref pool) => {
                    use sqlx::Row as _;
                    bound!(text, params).fetch_one(pool).await?.try_get(0)
                }
            }
        })
        .await
    }

    /// Runs `op`, trying again (with a short, growing pause) while SQLite
    /// reports the database busy or locked; maps the final error.
    async fn retrying<T, F, Fut>(&self, what: &'static str, mut op: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, sqlx::Error>>,
    {
        let mut attempt = 0;
        loop {
            let err = match op().await {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            if !self.pause_before_retry(&mut attempt, &err).await {
                return Err(storage_error(what, err));
            }
        }
    }

    /// After attempt `attempt` failed with `err`: when it is SQLite's busy
    /// or locked and tries remain, counts the attempt, waits a short,
    /// growing pause and says to try again; otherwise says to give up.
    async fn pause_before_retry(&self, attempt: &mut u32, err: &sqlx::Error) -> bool {
        if *attempt >= TRANSIENT_RETRIES || !is_transient(self.backend(), err) {
            return false;
        }
        *attempt += 1;
        let pause = Duration::from_millis(5 * u64::from((*attempt).min(10)));
        tokio::time::sleep(pause).await;
        true
    }
}

/// The future a transaction's body returns: borrowed from the transaction.
pub(crate) type TxFuture<'t, T> =
    std::pin::Pin<Box<dyn Future<Output = Result<T, sqlx::Error>> + Send + 't>>;

/// An open transaction of the pool's backend. Dropped without
/// [`commit`](Pool::transaction), it rolls back.
pub(crate) struct Tx {
    conn: TxConn,
    /// How many changes the body recorded in the change log.
    pub(crate) changes: u32,
}

enum TxConn {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
    #[cfg(feature = "mysql")]
    MySql(sqlx::Transaction<'static, sqlx::MySql>),
}

/// Runs `$body` with `$c` bound to the transaction's connection.
macro_rules! per_tx {
    ($tx:expr, $c:ident => $body:expr) => {
        match $tx.conn {
            #[cfg(feature = "sqlite")]
            TxConn::Sqlite(ref mut tx) => {
                let $c = &mut **tx;
                $body
            }
            #[cfg(feature = "postgres")]
            TxConn::Postgres(ref mut tx) => {
                let $c = &mut **tx;
                $body
            }
            #[cfg(feature = "mysql")]
            TxConn::MySql(ref mut tx) => {
                let $c = &mut **tx;
                $body
            }
        }
    };
}

impl Tx {
    pub(crate) fn backend(&self) -> Backend {
        match self.conn {
            #[cfg(feature = "sqlite")]
            TxConn::Sqlite(_) => Backend::Sqlite,
            #[cfg(feature = "postgres")]
            TxConn::Postgres(_) => Backend::Postgres,
            #[cfg(feature = "mysql")]
            TxConn::MySql(_) => Backend::MySql,
        }
    }

    /// Rows affected (matched, on MySQL).
    pub(crate) async fn execute(
        &mut self,
        sql: &'static Sql,
        params: &[Value],
    ) -> Result<u64, sqlx::Error> {
        let text = sql.text(self.backend());
        per_tx!(self, conn => bound!(text, params)
            .execute(conn)
            .await
            .map(|done| done.rows_affected()))
    }

    pub(crate) async fn fetch_optional(
        &mut self,
        sql: &'static Sql,
        params: &[Value],
    ) -> Result<Option<Row>, sqlx::Error> {
        let text = sql.text(self.backend());
        per_tx!(self, conn => bound!(text, params)
            .fetch_optional(conn)
            .await
            .map(|row| row.map(Row::from)))
    }

    /// Runs an `UPDATE` whose MySQL text sets `LAST_INSERT_ID(expr)` and
    /// whose other text ends with `RETURNING` one integer: that integer.
    pub(crate) async fn update_returning_int(
        &mut self,
        sql: &'static Sql,
        params: &[Value],
    ) -> Result<i64, sqlx::Error> {
        let text = sql.text(self.backend());
        match self.conn {
            #[cfg(feature = "mysql")]
            TxConn::MySql(ref mut tx) => {
                let done = bound!(text, params).execute(&mut **tx).await?;
                if done.rows_affected() != 1 {
                    return Err(sqlx::Error::RowNotFound);
                }
                i64::try_from(done.last_insert_id())
                    .map_err(|err| sqlx::Error::Decode(Box::new(err)))
            }
            #[cfg(feature = "sqlite")]
            TxConn::Sqlite(ref mut tx) => {
                use sqlx::Row as _;
                bound!(text, params).fetch_one(&mut **tx).await?.try_get(0)
            }
            #[cfg(feature = "postgres")]
            TxConn::Postgres(ref mut tx) => {
                use sqlx::Row as _;
                bound!(text, params).fetch_one(&mut **tx).await?.try_get(0)
            }
        }
    }

    async fn commit(self) -> Result<(), sqlx::Error> {
        match self.conn {
            #[cfg(feature = "sqlite")]
            TxConn::Sqlite(tx) => tx.commit().await,
            #[cfg(feature = "postgres")]
            TxConn::Postgres(tx) => tx.commit().await,
            #[cfg(feature = "mysql")]
            TxConn::MySql(tx) => tx.commit().await,
        }
    }
}

impl Pool {
    /// Runs `body` in a transaction and commits it; the whole transaction
    /// runs again (a bounded number of times, with a short growing pause)
    /// when it fails transiently — SQLite busy, a deadlock victim, a
    /// serialization failure — since a failed transaction changed nothing.
    /// Returns the body's value and how many changes it logged.
    ///
    /// The body may run more than once, so it clones what it moves into its
    /// future:
    ///
    /// ```text
    /// pool.transaction("save a thing", |tx| -> TxFuture<'_, u64> {
    ///     let params = params.clone();
    ///     Box::pin(async move { tx.execute(&SAVE, &params).await })
    /// })
    /// ```
    ///
    /// SQLite transactions begin `IMMEDIATE`: they take the write lock at
    /// once (waiting out the busy timeout), so a transaction that read first
    /// never fails to upgrade its lock half-way.
    pub(crate) async fn transaction<T, F>(
        &self,
        what: &'static str,
        mut body: F,
    ) -> Result<(T, u32), Error>
    where
        F: for<'t> FnMut(&'t mut Tx) -> TxFuture<'t, T> + Send,
        T: Send,
    {
        // Not `retrying`: each attempt's future borrows `body`.
        let mut attempt = 0;
        loop {
            let err = match self.try_transaction(&mut body).await {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            if !self.pause_before_retry(&mut attempt, &err).await {
                return Err(storage_error(what, err));
            }
        }
    }

    async fn try_transaction<T, F>(&self, body: &mut F) -> Result<(T, u32), sqlx::Error>
    where
        F: for<'t> FnMut(&'t mut Tx) -> TxFuture<'t, T> + Send,
        T: Send,
    {
        let conn = match *self {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(ref pool) => TxConn::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            #[cfg(feature = "postgres")]
            Pool::Postgres(ref pool) => TxConn::Postgres(pool.begin().await?),
            #[cfg(feature = "mysql")]
            Pool::MySql(ref pool) => TxConn::MySql(pool.begin().await?),
        };
        let mut tx = Tx { conn, changes: 0 };
        let value = body(&mut tx).await?;
        let changes = tx.changes;
        tx.commit().await?;
        Ok((value, changes))
    }
}

#[cfg(feature = "sqlite")]
impl From<sqlx::sqlite::SqliteRow> for Row {
    fn from(row: sqlx::sqlite::SqliteRow) -> Self {
        Row::Sqlite(row)
    }
}

#[cfg(feature = "postgres")]
impl From<sqlx::postgres::PgRow> for Row {
    fn from(row: sqlx::postgres::PgRow) -> Self {
        Row::Postgres(row)
    }
}

#[cfg(feature = "mysql")]
impl From<sqlx::mysql::MySqlRow> for Row {
    fn from(row: sqlx::mysql::MySqlRow) -> Self {
        Row::MySql(row)
    }
}

/// Whether another try may succeed: SQLite's `SQLITE_BUSY` (5) and
/// `SQLITE_LOCKED` (6), extended codes included; on PostgreSQL and MySQL a
/// deadlock victim or serialization failure (SQLSTATE `40001`, `40P01`).
fn is_transient(backend: Backend, err: &sqlx::Error) -> bool {
    let Some(db) = err.as_database_error() else {
        return false;
    };
    let code = db.code();
    match backend {
        Backend::Sqlite => {
            let by_code = code
                .and_then(|code| code.parse::<i32>().ok())
                .is_some_and(|code| matches!(code & 0xff, 5 | 6));
            by_code || db.message().contains("database is locked")
        }
        Backend::Postgres | Backend::MySql => {
            matches!(code.as_deref(), Some("40001" | "40P01"))
        }
    }
}

/// Whether the error is a unique-constraint violation, and the message of
/// the database (which names the constraint).
pub(crate) fn unique_violation(err: &Error) -> Option<String> {
    let Error::Storage {
        source: Some(source),
        ..
    } = err
    else {
        return None;
    };
    let db = source.downcast_ref::<sqlx::Error>()?.as_database_error()?;
    db.is_unique_violation().then(|| {
        let mut name = db.constraint().unwrap_or_default().to_owned();
        name.push(' ');
        name.push_str(db.message());
        name
    })
}

/// A storage error saying what the store was doing; the sqlx error (which
/// holds no bound values) is the source.
pub(crate) fn storage_error(what: &'static str, err: sqlx::Error) -> Error {
    Error::storage(format!("failed to {what}"), err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_question_marks() {
        assert_eq!(
            question_marks("UPDATE t SET a = $1, b = $2 WHERE c = $10"),
            "UPDATE t SET a = ?, b = ? WHERE c = ?"
        );
        assert_eq!(question_marks("SELECT 1"), "SELECT 1");
    }

    #[test]
    fn backends_from_url_schemes() {
        assert_eq!(Backend::from_url("sqlite::memory:"), Some(Backend::Sqlite));
        assert_eq!(Backend::from_url("SQLITE://x.db"), Some(Backend::Sqlite));
        assert_eq!(
            Backend::from_url("postgresql://h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Backend::from_url("postgres://h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(Backend::from_url("mariadb://h/db"), Some(Backend::MySql));
        assert_eq!(Backend::from_url("mysql://h/db"), Some(Backend::MySql));
        assert_eq!(Backend::from_url("redis://h"), None);
        assert_eq!(Backend::from_url("no scheme"), None);
    }
}
