//! The change log's statements: recording a change inside a writing
//! transaction, reading the epoch and the log, pruning.
//!
//! Each recorded change bumps the one-row epoch counter and logs itself under
//! the new epoch, in the transaction of the data it describes. The bump's row
//! lock serialises the writers: a second writer waits at its bump until the
//! first commits, so epochs commit in order and a reader that has seen epoch
//! `N` has seen every change up to `N`. (An auto-increment id would not do:
//! ids are handed out at insert and can commit out of order.)

use ims_api::{AdminUserId, Change};
use time::OffsetDateTime;

use crate::db::{Backend, Sql, Tx, Value};

static BUMP_EPOCH: Sql = Sql::with_mysql(
    "UPDATE ims_change_epoch SET epoch = epoch + 1 WHERE id = 1 RETURNING epoch",
    "UPDATE ims_change_epoch SET epoch = LAST_INSERT_ID(epoch + 1) WHERE id = 1",
);
static INSERT: Sql = Sql::new(
    "INSERT INTO ims_change_log (epoch, kind, admin_user_id, created_at) VALUES ($1, $2, $3, $4)",
);
/// PostgreSQL delivers the notification when (and only if) the transaction
/// commits. The channel is named after the database and schema, so stores on
/// other schemas of the same database are not woken.
static NOTIFY: Sql = Sql::new(concat!(
    "SELECT pg_notify('ims_store_changes_' || md5(current_database() || '.' || current_schema()), ",
    "$1)"
));
pub(crate) static PRUNE: Sql = Sql::new("DELETE FROM ims_change_log WHERE created_at < $1");

/// The channel [`NOTIFY`] notifies, asked on the listening connection.
#[cfg(feature = "postgres")]
pub(crate) const PG_CHANNEL: &str =
    "SELECT 'ims_store_changes_' || md5(current_database() || '.' || current_schema())";

/// The current epoch.
pub(crate) const READ_EPOCH: &str = "SELECT epoch FROM ims_change_epoch WHERE id = 1";

/// The log rows after an epoch, up to another.
pub(crate) fn read_log(backend: Backend) -> &'static str {
    match backend {
        Backend::MySql => {
            "SELECT epoch, kind, admin_user_id FROM ims_change_log \
             WHERE epoch > ? AND epoch <= ? ORDER BY epoch"
        }
        _ => {
            "SELECT epoch, kind, admin_user_id FROM ims_change_log \
             WHERE epoch > $1 AND epoch <= $2 ORDER BY epoch"
        }
    }
}

const SETTINGS: &str = "settings";
const ADMIN: &str = "admin";
/// A change this version cannot name (a newer `ims-api`'s): readers drop
/// everything.
const ANY: &str = "any";

/// Records `change` in the transaction: bumps the epoch, logs the change
/// under it, and (PostgreSQL) notifies at commit. Returns the epoch.
pub(crate) async fn record(
    tx: &mut Tx,
    change: &Change,
    at: OffsetDateTime,
) -> Result<i64, sqlx::Error> {
    let epoch = tx.update_returning_int(&BUMP_EPOCH, &[]).await?;
    let (kind, admin) = match change {
        Change::Settings => (SETTINGS, None),
        Change::Admin(id) => (ADMIN, Some(id.0)),
        _ => (ANY, None),
    };
    tx.execute(
        &INSERT,
        &[
            Value::Int(epoch),
            Value::text(kind),
            Value::OptInt(admin),
            Value::time(at),
        ],
    )
    .await?;
    if tx.backend() == Backend::Postgres {
        tx.fetch_optional(&NOTIFY, &[Value::Text(epoch.to_string())])
            .await?;
    }
    tx.changes += 1;
    Ok(epoch)
}

/// A logged change; `None` for a kind this version does not know.
pub(crate) fn decode(kind: &str, admin: Option<i64>) -> Option<Change> {
    match (kind, admin) {
        (SETTINGS, _) => Some(Change::Settings),
        (ADMIN, Some(id)) => Some(Change::Admin(AdminUserId(id))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_well_formed() {
        crate::db::assert_statements_well_formed(&[&BUMP_EPOCH, &INSERT, &NOTIFY, &PRUNE]);
    }

    #[test]
    fn kinds_round_trip() {
        assert_eq!(decode(SETTINGS, None), Some(Change::Settings));
        assert_eq!(decode(ADMIN, Some(7)), Some(Change::Admin(AdminUserId(7))));
        assert_eq!(decode(ADMIN, None), None);
        assert_eq!(decode(ANY, None), None);
        assert_eq!(decode("from the future", Some(1)), None);
    }
}
