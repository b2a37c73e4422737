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
    pub async fn apply(&self, changes: &[BindingChange]) -> Result<(), StoreError> {
        const OP: &str = "apply binding changes";
        if changes.is_empty() {
            return Ok(());
        }
        begin_write!(self, tx => {
            for change in changes {
                match change {
                    BindingChange::Upsert(binding) => {
                        upsert_query!(binding).execute(&mut *tx).await.map_err(db(OP))?;
                    }
                    BindingChange::Remove { aor, contact } => {
                        sqlx::query(REMOVE)
                            .bind(aor)
                            .bind(contact)
                            .execute(&mut *tx)
                            .await
                            .map_err(db(OP))?;
                    }
                    BindingChange::RemoveAll { aor } => {
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
