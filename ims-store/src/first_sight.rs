//! The first-sight lease of new Web API tokens:
//! `admin_adobe_ims_webapi_first_sight`, one row per token that an instance
//! is validating at IMS (or refused a moment ago), so that instances sharing
//! the database ask IMS once per new token between them.
//!
//! The lease is taken with one atomic upsert — insert, or take over a lease
//! that expired (or that the same holder left behind) — so two instances
//! never both lead; the row read back says who holds it. Times come from the
//! store's clock.

use std::time::Duration;

use ims_api::{Error, FirstSight, FirstSightOutcome, InvalidValue, Result, TokenHash};
use time::OffsetDateTime;

use crate::context::StoreContext;
use crate::db::{Sql, Value};

/// The longest holder name: the column's width on MySQL.
const MAX_HOLDER: usize = 64;
/// The longest refusal kept (in characters); longer ones are cut.
const MAX_REFUSAL: usize = 200;
/// How often `begin` tries again when the row it took (or lost) vanished
/// before it was read back (its holder ended the first sight meanwhile).
const BEGIN_ATTEMPTS: u32 = 3;

/// Takes the lease if the token has none, if its lease expired, or if it is
/// the holder's own lease without a refusal. MySQL has no `WHERE` on its
/// upsert: each column keeps its value unless the same condition holds; the
/// assignments are ordered so that the condition, which reads `holder`,
/// `refusal` and `expires_at`, stays the same through them (`holder` becomes
/// the caller's only when it holds, `refusal` becomes `NULL` only when it
/// holds, `expires_at` comes last).
static TAKE: Sql = Sql::with_mysql(
    "INSERT INTO admin_adobe_ims_webapi_first_sight (access_token_hash, holder, taken_at, \
     expires_at, refusal) VALUES ($1, $2, $3, $4, NULL) \
     ON CONFLICT (access_token_hash) DO UPDATE SET holder = excluded.holder, \
     taken_at = excluded.taken_at, expires_at = excluded.expires_at, refusal = NULL \
     WHERE admin_adobe_ims_webapi_first_sight.expires_at <= excluded.taken_at \
     OR (admin_adobe_ims_webapi_first_sight.holder = excluded.holder \
     AND admin_adobe_ims_webapi_first_sight.refusal IS NULL)",
    "INSERT INTO admin_adobe_ims_webapi_first_sight (access_token_hash, holder, taken_at, \
     expires_at, refusal) VALUES (?, ?, ?, ?, NULL) \
     ON DUPLICATE KEY UPDATE \
     holder = IF(expires_at <= VALUES(taken_at) OR (holder = VALUES(holder) AND refusal IS NULL), \
     VALUES(holder), holder), \
     refusal = IF(expires_at <= VALUES(taken_at) OR (holder = VALUES(holder) AND refusal IS NULL), \
     NULL, refusal), \
     taken_at = IF(expires_at <= VALUES(taken_at) OR (holder = VALUES(holder) AND refusal IS NULL), \
     VALUES(taken_at), taken_at), \
     expires_at = IF(expires_at <= VALUES(taken_at) OR (holder = VALUES(holder) AND refusal IS NULL), \
     VALUES(expires_at), expires_at)",
);
static READ: Sql = Sql::new(
    "SELECT holder, expires_at, refusal FROM admin_adobe_ims_webapi_first_sight \
     WHERE access_token_hash = $1",
);
static RELEASE: Sql = Sql::new(
    "DELETE FROM admin_adobe_ims_webapi_first_sight \
     WHERE access_token_hash = $1 AND holder = $2",
);
static REFUSE: Sql = Sql::new(
    "UPDATE admin_adobe_ims_webapi_first_sight SET refusal = $1, expires_at = $2 \
     WHERE access_token_hash = $3 AND holder = $4",
);
static PURGE: Sql =
    Sql::new("DELETE FROM admin_adobe_ims_webapi_first_sight WHERE expires_at <= $1");

/// Checks a holder name: 1 to 64 ASCII letters, digits, `-`, `_`, `.`, `:`.
fn check_holder(holder: &str) -> Result<()> {
    let fits = !holder.is_empty()
        && holder.len() <= MAX_HOLDER
        && holder
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    if fits {
        Ok(())
    } else {
        Err(Error::InvalidInput(InvalidValue::new(
            "first-sight holder",
            "expected 1 to 64 ASCII letters, digits, '-', '_', '.' or ':'",
        )))
    }
}

fn until(now: OffsetDateTime, after: Duration) -> OffsetDateTime {
    now.saturating_add(time::Duration::try_from(after).unwrap_or(time::Duration::MAX))
}

/// [`ims_api::WebApiTokenRepository::begin_first_sight`].
pub(crate) async fn begin(
    inner: &StoreContext,
    hash: &TokenHash,
    holder: &str,
    lease: Duration,
) -> Result<FirstSight> {
    check_holder(holder)?;
    let pool = &inner.pool;
    for _ in 0..BEGIN_ATTEMPTS {
        let now = inner.clock.now();
        pool.execute(
            "take a Web API token's first-sight lease",
            &TAKE,
            &[
                Value::text(hash.as_str()),
                Value::text(holder),
                Value::time(now),
                Value::time(until(now, lease)),
            ],
        )
        .await?;
        let Some(row) = pool
            .fetch_optional(
                "read a Web API token's first-sight lease",
                &READ,
                &[Value::text(hash.as_str())],
            )
            .await?
        else {
            // Ended (released) between the two statements: try again.
            continue;
        };
        let expires_at = row.time(1)?;
        return Ok(match row.opt_text(2)? {
            Some(reason) if now < expires_at => FirstSight::Refused { reason },
            // A refusal that expired, not yet taken over: follow, and the
            // next call takes it.
            Some(_) => FirstSight::Follow { until: expires_at },
            None if row.text(0)? == holder => FirstSight::Lead,
            None => FirstSight::Follow { until: expires_at },
        });
    }
    // The lease keeps vanishing under us: let the caller ask again shortly.
    Ok(FirstSight::Follow {
        until: inner.clock.now(),
    })
}

/// [`ims_api::WebApiTokenRepository::end_first_sight`].
pub(crate) async fn end(
    inner: &StoreContext,
    hash: &TokenHash,
    holder: &str,
    outcome: &FirstSightOutcome,
) -> Result<()> {
    check_holder(holder)?;
    let pool = &inner.pool;
    match outcome {
        FirstSightOutcome::Refused {
            reason,
            remembered_for,
        } => {
            let reason: String = reason.chars().take(MAX_REFUSAL).collect();
            let until = until(inner.clock.now(), *remembered_for);
            pool.execute(
                "record a Web API token's refusal at first sight",
                &REFUSE,
                &[
                    Value::text(reason),
                    Value::time(until),
                    Value::text(hash.as_str()),
                    Value::text(holder),
                ],
            )
            .await?;
        }
        // Recorded (followers find the record), undecided (the next caller
        // leads), or an outcome this store does not know: released.
        _ => {
            pool.execute(
                "release a Web API token's first-sight lease",
                &RELEASE,
                &[Value::text(hash.as_str()), Value::text(holder)],
            )
            .await?;
        }
    }
    Ok(())
}

/// [`ims_api::WebApiTokenRepository::purge_first_sights`].
pub(crate) async fn purge(inner: &StoreContext, now: OffsetDateTime) -> Result<u64> {
    inner
        .pool
        .execute(
            "purge expired Web API first-sight leases",
            &PURGE,
            &[Value::time(now)],
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_well_formed() {
        crate::db::assert_statements_well_formed(&[&TAKE, &READ, &RELEASE, &REFUSE, &PURGE]);
    }

    #[test]
    fn holders_are_short_plain_names() {
        assert!(check_holder("instance-1:ab.cd_ef").is_ok());
        assert!(check_holder(&"a".repeat(64)).is_ok());
        for bad in ["", "a b", "a'b", "é", "a\u{0}", &"a".repeat(65)] {
            assert!(
                matches!(check_holder(bad), Err(Error::InvalidInput(_))),
                "{bad:?}"
            );
        }
    }
}
