//! Leases: which replica may do a piece of scheduled work right now. A lease has a name (the
//! work), a holder (a replica's id) and an expiry; whoever holds an unexpired lease does the
//! work, the others skip it.
use chrono::{DateTime, Datelike, Utc};

use crate::codec::format_ts;
use crate::{Result, Tx};

/// Takes the lease `name` for `holder` until `now + ttl`, when it is free, expired, or already
/// held by `holder` (then it is renewed); returns whether `holder` holds it now.
///
/// One statement, so two replicas asking at once cannot both win: the insert of a new lease
/// and the update of an existing one happen under the row's lock (PostgreSQL) or the
/// database's write lock (SQLite), and the update's condition is checked against the row as
/// it is then. When the condition fails nothing is written and nothing is returned.
pub async fn try_acquire(
    tx: &mut Tx,
    name: &str,
    holder: &str,
    now: DateTime<Utc>,
    ttl: chrono::Duration,
) -> Result<bool> {
    // Past year 9999 the fixed-width encoding breaks, and text order with it: a lease that
    // cannot be written correctly is not taken (nobody would want one that long).
    let Some(expires) = now
        .checked_add_signed(ttl)
        .filter(|expires| expires.year() <= 9999)
    else {
        tracing::warn!(
            lease = name,
            ?ttl,
            "a lease's expiry is out of range; not taken"
        );
        return Ok(false);
    };
    let conn = tx.conn();
    let taken_by: Option<String> = sqlx::query_scalar(
        "INSERT INTO leases (name, holder, expires) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires \
         WHERE leases.expires < $4 OR leases.holder = excluded.holder \
         RETURNING holder",
    )
    .bind(name.to_owned())
    .bind(holder.to_owned())
    .bind(format_ts(&expires))
    .bind(format_ts(&now))
    .fetch_optional(conn)
    .await?;
    Ok(taken_by.as_deref() == Some(holder))
}

/// Gives the lease up if `holder` holds it, so another replica may take it at once; returns
/// whether it was `holder`'s.
pub async fn release(tx: &mut Tx, name: &str, holder: &str) -> Result<bool> {
    let conn = tx.conn();
    let done = sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
        .bind(name.to_owned())
        .bind(holder.to_owned())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}
