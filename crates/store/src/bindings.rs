//! Registrar bindings (RFC 3261 §10.3): the address-of-record → Contact mappings a registrar
//! keeps, persisted so registrations survive a restart.
//!
//! One row per `(aor, contact)`. Expiry is absolute (`expires_at`, unix seconds) and a binding
//! is live while `expires_at > now`. The registrar produces changes in batches; [`Store::apply`]
//! writes a batch in one transaction, which is what makes thousands of updates per second
//! cheap on SQLite (one WAL sync per batch instead of one per row).

use crate::error::db;
use crate::{Store, StoreError};

/// One registered contact of an address-of-record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Binding {
    /// The address-of-record: the extension number (e.g. `"201"`).
    pub aor: String,
    /// The Contact URI exactly as printed (the binding's identity within its AOR).
    pub contact: String,
    /// When the binding expires, unix seconds (RFC 3261 §10.3 step 7: now + expires).
    pub expires_at: i64,
    /// The Contact's `q` parameter in thousandths (`q=0.7` is `Some(700)`), 0..=1000.
    pub q: Option<u16>,
    /// Call-ID of the REGISTER that last refreshed the binding (§10.3 step 7).
    pub call_id: String,
    /// CSeq of that REGISTER: a later REGISTER with the same Call-ID must have a higher one.
    pub cseq: u32,
    /// Where the REGISTER came from, e.g. `"udp:1.2.3.4:5060"` (to reach phones behind NAT).
    pub source: String,
    /// The User-Agent header of the REGISTER, if any.
    pub user_agent: Option<String>,
    /// The `+sip.instance` Contact parameter (RFC 5626 §4.1), if any.
    pub instance: Option<String>,
    /// The `reg-id` Contact parameter (RFC 5626 §4.2), if any.
    pub reg_id: Option<u32>,
    /// When the binding was last written, unix seconds.
    pub updated_at: i64,
}

/// One change in a batch for [`Store::apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindingChange {
    /// Insert the binding, or replace the one with the same `(aor, contact)`.
    Upsert(Binding),
    /// Remove one binding (no error if it does not exist).
    Remove { aor: String, contact: String },
    /// Remove every binding of an AOR (`Contact: *`, RFC 3261 §10.2.2).
    RemoveAll { aor: String },
}

const UPSERT: &str = "INSERT INTO bindings \
     (aor, contact, expires_at, q, call_id, cseq, source, user_agent, instance, reg_id, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
     ON CONFLICT (aor, contact) DO UPDATE SET \
     expires_at = excluded.expires_at, q = excluded.q, call_id = excluded.call_id, \
     cseq = excluded.cseq, source = excluded.source, user_agent = excluded.user_agent, \
     instance = excluded.instance, reg_id = excluded.reg_id, updated_at = excluded.updated_at";
/// Multi-row upsert for batches: `UPSERT_HEAD` + `VALUES (...), (...)` + `UPSERT_TAIL`.
const UPSERT_HEAD: &str = "INSERT INTO bindings \
     (aor, contact, expires_at, q, call_id, cseq, source, user_agent, instance, reg_id, updated_at) ";
const UPSERT_TAIL: &str = " ON CONFLICT (aor, contact) DO UPDATE SET \
     expires_at = excluded.expires_at, q = excluded.q, call_id = excluded.call_id, \
     cseq = excluded.cseq, source = excluded.source, user_agent = excluded.user_agent, \
     instance = excluded.instance, reg_id = excluded.reg_id, updated_at = excluded.updated_at";
/// Rows per multi-row upsert: 11 parameters a row stays far below both backends' limits
/// (SQLite 32,766, PostgreSQL 65,535) while saving a round trip per row.
const UPSERT_ROWS: usize = 100;
const REMOVE: &str = "DELETE FROM bindings WHERE aor = $1 AND contact = $2";
const REMOVE_ALL: &str = "DELETE FROM bindings WHERE aor = $1";
const OF_AOR: &str = "SELECT aor, contact, expires_at, q, call_id, cseq, source, user_agent, \
     instance, reg_id, updated_at FROM bindings WHERE aor = $1 ORDER BY contact";
const LIVE: &str = "SELECT aor, contact, expires_at, q, call_id, cseq, source, user_agent, \
     instance, reg_id, updated_at FROM bindings WHERE expires_at > $1 ORDER BY aor, contact";
const PURGE: &str = "DELETE FROM bindings WHERE expires_at <= $1";

/// Builds the upsert query for `$b` with its arguments bound (expanded per backend).
macro_rules! upsert_query {
    ($b:expr) => {{
        let b: &Binding = $b;
        sqlx::query(UPSERT)
            .bind(&b.aor)
            .bind(&b.contact)
            .bind(b.expires_at)
            .bind(b.q.map(i32::from))
            .bind(&b.call_id)
            .bind(i64::from(b.cseq))
            .bind(&b.source)
            .bind(&b.user_agent)
            .bind(&b.instance)
            .bind(b.reg_id.map(i64::from))
            .bind(b.updated_at)
    }};
}

/// A row as stored: SQL integer types, converted to [`Binding`] with range checks.
#[derive(sqlx::FromRow)]
struct BindingRow {
    aor: String,
    contact: String,
    expires_at: i64,
    q: Option<i32>,
    call_id: String,
    cseq: i64,
    source: String,
    user_agent: Option<String>,
    instance: Option<String>,
    reg_id: Option<i64>,
    updated_at: i64,
}

impl BindingRow {
    fn into_binding(self, op: &'static str) -> Result<Binding, StoreError> {
        let out_of_range = |what: &str, value: i64| StoreError::OutOfRange {
            op,
            detail: format!(
                "{what} = {value} for aor {:?} contact {:?}",
                self.aor, self.contact
            ),
        };
        let q = match self.q {
            Some(q) => Some(u16::try_from(q).map_err(|_| out_of_range("q", q.into()))?),
            None => None,
        };
        let cseq = u32::try_from(self.cseq).map_err(|_| out_of_range("cseq", self.cseq))?;
        let reg_id = match self.reg_id {
            Some(r) => Some(u32::try_from(r).map_err(|_| out_of_range("reg_id", r))?),
            None => None,
        };
        Ok(Binding {
            aor: self.aor,
            contact: self.contact,
            expires_at: self.expires_at,
            q,
            call_id: self.call_id,
            cseq,
            source: self.source,
            user_agent: self.user_agent,
            instance: self.instance,
            reg_id,
            updated_at: self.updated_at,
        })
    }
}

fn into_bindings(rows: Vec<BindingRow>, op: &'static str) -> Result<Vec<Binding>, StoreError> {
    rows.into_iter().map(|row| row.into_binding(op)).collect()
}

impl Store {
    /// Inserts `binding`, or replaces the stored one with the same `(aor, contact)`.
    pub async fn upsert_binding(&self, binding: &Binding) -> Result<(), StoreError> {
        const OP: &str = "upsert binding";
        on_pool!(self, pool => upsert_query!(binding)
            .execute(pool)
            .await
            .map(drop)
            .map_err(db(OP)))
    }

    /// Removes one binding; returns whether it existed.
    pub async fn remove_binding(&self, aor: &str, contact: &str) -> Result<bool, StoreError> {
        const OP: &str = "remove binding";
        let removed = on_pool!(self, pool => sqlx::query(REMOVE)
            .bind(aor)
            .bind(contact)
            .execute(pool)
            .await
            .map_err(db(OP))?
            .rows_affected());
        Ok(removed > 0)
    }

    /// Removes every binding of `aor`; returns how many there were.
    pub async fn remove_bindings(&self, aor: &str) -> Result<u64, StoreError> {
        const OP: &str = "remove bindings";
        let removed = on_pool!(self, pool => sqlx::query(REMOVE_ALL)
            .bind(aor)
            .execute(pool)
            .await
            .map_err(db(OP))?
            .rows_affected());
        Ok(removed)
    }

    /// Every stored binding of `aor`, ordered by contact. Expired bindings that were not yet
    /// purged are included: the store does not know the time; compare `expires_at` with now.
    pub async fn bindings(&self, aor: &str) -> Result<Vec<Binding>, StoreError> {
        const OP: &str = "list bindings";
        let rows: Vec<BindingRow> = on_pool!(self, pool => sqlx::query_as(OF_AOR)
            .bind(aor)
            .fetch_all(pool)
            .await
            .map_err(db(OP))?);
        into_bindings(rows, OP)
    }

    /// Every binding still live at `now_unix` (`expires_at > now_unix`), ordered by aor then
    /// contact: what the registrar reloads at start.
    pub async fn live_bindings(&self, now_unix: i64) -> Result<Vec<Binding>, StoreError> {
        const OP: &str = "list live bindings";
        let rows: Vec<BindingRow> = on_pool!(self, pool => sqlx::query_as(LIVE)
            .bind(now_unix)
            .fetch_all(pool)
            .await
            .map_err(db(OP))?);
        into_bindings(rows, OP)
    }

    /// Deletes every binding expired at `now_unix` (`expires_at <= now_unix`); returns how many.
    pub async fn purge_expired(&self, now_unix: i64) -> Result<u64, StoreError> {
        const OP: &str = "purge expired bindings";
        let purged = on_pool!(self, pool => sqlx::query(PURGE)
            .bind(now_unix)
            .execute(pool)
            .await
            .map_err(db(OP))?
            .rows_affected());
        Ok(purged)
    }

    /// Applies `changes` in order, in one transaction: either all of them are stored or, on
    /// error, none are (the transaction is rolled back) and the error is returned.
    ///
    /// Consecutive upserts are written as multi-row `INSERT ... ON CONFLICT` statements of up
    /// to 100 rows (the per-statement round trip, not SQLite itself, is what limits a batch of
    /// single-row statements). Within such a run, a contact upserted twice keeps its last
    /// value, exactly as if the changes had been applied one by one.
    pub async fn apply(&self, changes: &[BindingChange]) -> Result<(), StoreError> {
        const OP: &str = "apply binding changes";
        if changes.is_empty() {
            return Ok(());
        }
        begin_write!(self, tx => {
            for step in plan(changes) {
                match step {
                    Step::Upsert(run) => {
                        for rows in run.chunks(UPSERT_ROWS) {
                            let mut insert = sqlx::QueryBuilder::new(UPSERT_HEAD);
                            insert.push_values(rows, |mut row, b| {
                                row.push_bind(b.aor.clone())
                                    .push_bind(b.contact.clone())
                                    .push_bind(b.expires_at)
                                    .push_bind(b.q.map(i32::from))
                                    .push_bind(b.call_id.clone())
                                    .push_bind(i64::from(b.cseq))
                                    .push_bind(b.source.clone())
                                    .push_bind(b.user_agent.clone())
                                    .push_bind(b.instance.clone())
                                    .push_bind(b.reg_id.map(i64::from))
                                    .push_bind(b.updated_at);
                            });
                            insert.push(UPSERT_TAIL);
                            insert.build().execute(&mut *tx).await.map_err(db(OP))?;
                        }
                    }
                    Step::Remove { aor, contact } => {
                        sqlx::query(REMOVE)
                            .bind(aor)
                            .bind(contact)
                            .execute(&mut *tx)
                            .await
                            .map_err(db(OP))?;
                    }
                    Step::RemoveAll { aor } => {
                        sqlx::query(REMOVE_ALL)
                            .bind(aor)
                            .execute(&mut *tx)
                            .await
                            .map_err(db(OP))?;
                    }
                }
            }
            tx.commit().await.map_err(db("commit binding changes"))?;
        });
        Ok(())
    }
}

/// One statement-level step of a batch.
#[derive(Debug, PartialEq)]
enum Step<'a> {
    /// Upserts with distinct `(aor, contact)` keys (so one multi-row statement may hold them:
    /// PostgreSQL refuses to update the same row twice in one `INSERT ... ON CONFLICT`).
    Upsert(Vec<&'a Binding>),
    Remove {
        aor: &'a str,
        contact: &'a str,
    },
    RemoveAll {
        aor: &'a str,
    },
}

/// Groups each run of consecutive upserts into one step, keeping only the last upsert of each
/// key within the run (an earlier one would be overwritten by it anyway). Removals stay single
/// steps in their place, so the order of effects is the order of `changes`.
fn plan(changes: &[BindingChange]) -> Vec<Step<'_>> {
    fn flush<'a>(run: &mut Vec<&'a Binding>, steps: &mut Vec<Step<'a>>) {
        if !run.is_empty() {
            let mut seen = std::collections::HashSet::new();
            // Walk backwards so the last upsert of each key wins, then restore the order.
            let mut distinct: Vec<&Binding> = run
                .drain(..)
                .rev()
                .filter(|b| seen.insert((b.aor.as_str(), b.contact.as_str())))
                .collect();
            distinct.reverse();
            steps.push(Step::Upsert(distinct));
        }
    }
    let mut steps = Vec::new();
    let mut run: Vec<&Binding> = Vec::new();
    for change in changes {
        match change {
            BindingChange::Upsert(binding) => run.push(binding),
            BindingChange::Remove { aor, contact } => {
                flush(&mut run, &mut steps);
                steps.push(Step::Remove { aor, contact });
            }
            BindingChange::RemoveAll { aor } => {
                flush(&mut run, &mut steps);
                steps.push(Step::RemoveAll { aor });
            }
        }
    }
    flush(&mut run, &mut steps);
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(aor: &str, contact: &str, cseq: u32) -> Binding {
        Binding {
            aor: aor.into(),
            contact: contact.into(),
            expires_at: 100,
            q: None,
            call_id: "c".into(),
            cseq,
            source: "udp:192.0.2.1:5060".into(),
            user_agent: None,
            instance: None,
            reg_id: None,
            updated_at: 0,
        }
    }

    #[test]
    fn plan_groups_consecutive_upserts_and_keeps_the_last_of_each_contact() {
        let changes = vec![
            BindingChange::Upsert(b("201", "a", 1)),
            BindingChange::Upsert(b("201", "b", 1)),
            BindingChange::Upsert(b("201", "a", 2)),
            BindingChange::Remove {
                aor: "201".into(),
                contact: "b".into(),
            },
            BindingChange::Upsert(b("201", "b", 3)),
            BindingChange::RemoveAll { aor: "202".into() },
        ];
        let (a2, b1, b3) = (b("201", "a", 2), b("201", "b", 1), b("201", "b", 3));
        assert_eq!(
            plan(&changes),
            vec![
                Step::Upsert(vec![&b1, &a2]),
                Step::Remove {
                    aor: "201",
                    contact: "b"
                },
                Step::Upsert(vec![&b3]),
                Step::RemoveAll { aor: "202" },
            ]
        );
    }

    #[test]
    fn plan_of_nothing_is_nothing() {
        assert!(plan(&[]).is_empty());
    }
}
