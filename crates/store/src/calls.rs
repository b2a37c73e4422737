//! Call records (DESIGN.md §1): one row per finished call in `calls`, and one per call in
//! progress in `active_calls`, so that a crash leaves evidence.
//!
//! The life of a call in the store:
//! 1. [`Store::call_started`] writes its `active_calls` row;
//! 2. [`Store::call_answered`] notes the answer on that row;
//! 3. [`Store::touch_active_calls`] (periodically, while crossbar runs) records that every
//!    call in progress is still up;
//! 4. [`Store::call_finished`] inserts the record and deletes the active row in one
//!    transaction.
//!
//! Steps 1, 2 and 4 of many calls can also be written together, as [`CallChange`]s, by
//! [`Store::apply_call_changes`]: one transaction for the lot, which is what keeps a busy
//! switch's records cheap (one commit per batch instead of three per call).
//!
//! After a crash, the rows left in `active_calls` are the calls crossbar lost;
//! [`Store::finish_interrupted`] turns each into an `interrupted` record (ending at the last
//! time crossbar knew it to be up) at the next start.
//!
//! Records are filtered on indexed columns (start time, direction, disposition, caller and
//! callee number, the extension that answered) and listed newest first. Legs and the timeline
//! are stored as JSON text in the record's row: shown, never filtered on, and portable across
//! both backends.

use crossbar_cdr::{
    CallEvent, CallId, CallRecord, Direction, Disposition, EndReason, EventKind, HangupSide, LegId,
    LegRecord, LegRole, Party, Recorder, RecorderOutput, Timings,
};

use crate::error::db;
use crate::{Store, StoreError};

/// A call in progress, as stored in `active_calls`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveCall {
    pub id: CallId,
    pub sip_call_id: String,
    pub direction: Direction,
    pub caller: Party,
    pub callee: Party,
    pub started_at_ms: i64,
    pub answered_at_ms: Option<i64>,
    /// The extension that answered.
    pub answered_by: Option<String>,
    /// The last time crossbar knew the call to be up (unix milliseconds).
    pub last_seen_at_ms: i64,
}

/// One step of a call's life, for [`Store::apply_call_changes`]: what [`Store::call_started`],
/// [`Store::call_answered`] and [`Store::call_finished`] write one at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallChange {
    /// The call started: its `active_calls` row ([`Store::call_started`]).
    Started(ActiveCall),
    /// The call in progress `id` was answered at `at_ms` (unix milliseconds) by the extension
    /// `answered_by` ([`Store::call_answered`]).
    Answered {
        id: CallId,
        at_ms: i64,
        answered_by: Option<String>,
    },
    /// The call ended: its record, replacing its `active_calls` row ([`Store::call_finished`]).
    Finished(Box<CallRecord>),
}

impl From<RecorderOutput> for CallChange {
    /// What the recorder learned about a call, as the step that stores it.
    fn from(output: RecorderOutput) -> CallChange {
        match output {
            RecorderOutput::Started {
                call,
                started_at_ms,
                direction,
                caller,
                callee,
                sip_call_id,
            } => CallChange::Started(ActiveCall {
                id: call,
                sip_call_id,
                direction,
                caller,
                callee,
                started_at_ms,
                answered_at_ms: None,
                answered_by: None,
                last_seen_at_ms: started_at_ms,
            }),
            RecorderOutput::Answered {
                call,
                answered_at_ms,
                answered_by,
                ..
            } => CallChange::Answered {
                id: call,
                at_ms: answered_at_ms,
                answered_by,
            },
            RecorderOutput::Finished(record) => CallChange::Finished(record),
        }
    }
}

impl CallChange {
    /// The call this change is about.
    pub fn call(&self) -> &CallId {
        match self {
            CallChange::Started(call) => &call.id,
            CallChange::Answered { id, .. } => id,
            CallChange::Finished(record) => &record.id,
        }
    }
}

/// Which calls to list or count. Every field narrows the selection; the default selects all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallFilter {
    /// Calls this extension took part in: as caller, as the number dialled, or as the
    /// extension that answered.
    pub extension: Option<String>,
    /// Calls this extension received: it was dialled, or it answered.
    pub received_by: Option<String>,
    /// Calls this extension (or number) placed: it was the caller.
    pub placed_by: Option<String>,
    pub direction: Option<Direction>,
    pub disposition: Option<Disposition>,
    /// Calls that started at or after this time (unix milliseconds).
    pub since_ms: Option<i64>,
    /// Calls that started before this time (unix milliseconds, exclusive).
    pub until_ms: Option<i64>,
}

/// One page of a listing: at most `limit` records after skipping `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: u32,
    pub offset: u64,
}

impl Page {
    /// The largest page [`Store::calls`] returns.
    pub const MAX_LIMIT: u32 = 1_000;

    /// The first `limit` records.
    pub fn first(limit: u32) -> Page {
        Page { limit, offset: 0 }
    }
}

impl Default for Page {
    fn default() -> Self {
        Page::first(50)
    }
}

const STARTED_OP: &str = "store call in progress";
const ANSWERED_OP: &str = "store call answer";
const FINISHED_OP: &str = "store call record";

const RECORD_COLUMNS: &str = "id, sip_call_id, direction, caller_number, caller_name, \
     callee_number, callee_name, started_at_ms, answered_at_ms, ended_at_ms, disposition, \
     disposition_detail, sip_status, hangup_by, answered_by, wait_secs, ring_secs, talk_secs, \
     hold_secs, queue_wait_secs, interrupted, legs, timeline";
const ACTIVE_COLUMNS: &str = "id, sip_call_id, direction, caller_number, caller_name, \
     callee_number, callee_name, started_at_ms, answered_at_ms, answered_by, last_seen_at_ms";

const ANSWER_ACTIVE: &str = "UPDATE active_calls SET answered_at_ms = $2, answered_by = $3, \
     last_seen_at_ms = CASE WHEN last_seen_at_ms > $2 THEN last_seen_at_ms ELSE $2 END \
     WHERE id = $1";
const TOUCH_ACTIVE: &str = "UPDATE active_calls SET last_seen_at_ms = $1 \
     WHERE last_seen_at_ms < $1";
const DELETE_ACTIVE: &str = "DELETE FROM active_calls WHERE id = $1";
/// Multi-row statements (one row is a multi-row statement too): a `*_HEAD`, then
/// `VALUES (...), (...)` (or the ids), then the `*_TAIL`. A batch's statements each touch
/// distinct calls (see [`waves`]), so no row is inserted or updated twice by one statement.
const INSERT_ACTIVES_HEAD: &str = "INSERT INTO active_calls (id, sip_call_id, direction, \
     caller_number, caller_name, callee_number, callee_name, started_at_ms, answered_at_ms, \
     answered_by, last_seen_at_ms) ";
const INSERT_RECORDS_HEAD: &str = "INSERT INTO calls (id, sip_call_id, direction, \
     caller_number, caller_name, callee_number, callee_name, started_at_ms, answered_at_ms, \
     ended_at_ms, disposition, disposition_detail, sip_status, hangup_by, answered_by, \
     wait_secs, ring_secs, talk_secs, hold_secs, queue_wait_secs, interrupted, legs, \
     timeline) ";
const INSERT_MANY_TAIL: &str = " ON CONFLICT (id) DO NOTHING";
/// The answers are a `VALUES` table: `column1` the call, `column2` the time, `column3` who
/// answered (the default column names of `VALUES` on both backends).
const ANSWER_ACTIVES_HEAD: &str = "UPDATE active_calls SET answered_at_ms = a.column2, \
     answered_by = a.column3, last_seen_at_ms = CASE WHEN active_calls.last_seen_at_ms > \
     a.column2 THEN active_calls.last_seen_at_ms ELSE a.column2 END FROM (";
const ANSWER_ACTIVES_TAIL: &str = ") AS a WHERE active_calls.id = a.column1";
const DELETE_ACTIVES_HEAD: &str = "DELETE FROM active_calls WHERE id IN (";
const DELETE_ACTIVES_TAIL: &str = ")";
/// Rows per multi-row statement: at 23 parameters a record, far below both backends' limits
/// (SQLite 32,766, PostgreSQL 65,535), while saving a round trip per row.
const ROWS_PER_STATEMENT: usize = 100;

/// A record ready to bind: its JSON columns serialised up front, so that a serialisation
/// failure surfaces before any transaction starts.
struct RecordRow<'a> {
    record: &'a CallRecord,
    legs: String,
    timeline: String,
}

impl<'a> RecordRow<'a> {
    fn new(record: &'a CallRecord, op: &'static str) -> Result<RecordRow<'a>, StoreError> {
        let json = |what: &str, result: Result<String, serde_json::Error>| {
            result.map_err(|e| StoreError::OutOfRange {
                op,
                detail: format!(
                    "{what} of call {} cannot be written as JSON: {e}",
                    record.id
                ),
            })
        };
        Ok(RecordRow {
            record,
            legs: json("legs", serde_json::to_string(&record.legs))?,
            timeline: json("timeline", serde_json::to_string(&record.timeline))?,
        })
    }
}

/// A [`CallChange`] ready to bind (a record's JSON serialised).
enum Write<'a> {
    Started(&'a ActiveCall),
    Answered {
        id: &'a CallId,
        at_ms: i64,
        answered_by: Option<&'a str>,
    },
    Finished(RecordRow<'a>),
}

impl<'a> Write<'a> {
    fn call(&self) -> &'a CallId {
        match self {
            Write::Started(call) => &call.id,
            Write::Answered { id, .. } => id,
            Write::Finished(row) => &row.record.id,
        }
    }

    fn new(change: &'a CallChange) -> Result<Write<'a>, StoreError> {
        Ok(match change {
            CallChange::Started(call) => Write::Started(call),
            CallChange::Answered {
                id,
                at_ms,
                answered_by,
            } => Write::Answered {
                id,
                at_ms: *at_ms,
                answered_by: answered_by.as_deref(),
            },
            CallChange::Finished(record) => Write::Finished(RecordRow::new(record, FINISHED_OP)?),
        })
    }
}

/// The changes of one wave of a batch (see [`waves`]), by kind; each call appears at most once.
#[derive(Default)]
struct Wave<'w> {
    started: Vec<&'w ActiveCall>,
    answered: Vec<(&'w CallId, i64, Option<&'w str>)>,
    finished: Vec<&'w RecordRow<'w>>,
}

/// Splits a batch into waves that write the same as the changes applied in order, with as
/// few statements as possible: wave `k` holds every call's `k`-th change in the batch.
///
/// Every change touches only its own call's rows, so changes to different calls commute:
/// only each call's own changes must stay in order, and the waves keep that order. Within a
/// wave the calls are distinct, so its changes can go in any order — the calls started
/// first, then the answers, then the records — each kind in multi-row statements.
fn waves<'w>(writes: &'w [Write<'w>]) -> Vec<Wave<'w>> {
    let mut seen: std::collections::HashMap<&CallId, usize> = std::collections::HashMap::new();
    let mut waves: Vec<Wave<'w>> = Vec::new();
    for write in writes {
        let count = seen.entry(write.call()).or_insert(0);
        let k = *count;
        *count += 1;
        if k == waves.len() {
            waves.push(Wave::default());
        }
        let wave = &mut waves[k];
        match write {
            Write::Started(call) => wave.started.push(call),
            Write::Answered {
                id,
                at_ms,
                answered_by,
            } => wave.answered.push((id, *at_ms, *answered_by)),
            Write::Finished(row) => wave.finished.push(row),
        }
    }
    waves
}

/// Builds the insert of `$rows` (a `&[&RecordRow]`, at most [`ROWS_PER_STATEMENT`]) into
/// `calls`, skipping the records already stored: a `sqlx::QueryBuilder` with the arguments
/// bound. Expanded per backend, so the builder picks the placeholders.
macro_rules! insert_records {
    ($rows:expr) => {{
        let rows: &[&RecordRow<'_>] = $rows;
        let mut insert = sqlx::QueryBuilder::new(INSERT_RECORDS_HEAD);
        insert.push_values(rows, |mut bind, row| {
            let r = row.record;
            bind.push_bind(&r.id.0)
                .push_bind(&r.sip_call_id)
                .push_bind(r.direction.as_str())
                .push_bind(&r.caller.number)
                .push_bind(&r.caller.name)
                .push_bind(&r.callee.number)
                .push_bind(&r.callee.name)
                .push_bind(r.started_at_ms)
                .push_bind(r.answered_at_ms)
                .push_bind(r.ended_at_ms)
                .push_bind(r.disposition.as_str())
                .push_bind(&r.disposition_detail)
                .push_bind(r.sip_status.map(i32::from))
                .push_bind(r.hangup_by.as_str())
                .push_bind(&r.answered_by)
                .push_bind(r.timings.wait_secs.map(i64::from))
                .push_bind(i64::from(r.timings.ring_secs))
                .push_bind(i64::from(r.timings.talk_secs))
                .push_bind(i64::from(r.timings.hold_secs))
                .push_bind(i64::from(r.timings.queue_wait_secs))
                .push_bind(r.interrupted)
                .push_bind(&row.legs)
                .push_bind(&row.timeline);
        });
        insert.push(INSERT_MANY_TAIL);
        insert
    }};
}

/// Builds the insert of the calls in progress `$calls` (a `&[&ActiveCall]`, at most
/// [`ROWS_PER_STATEMENT`]), skipping those already stored: a `sqlx::QueryBuilder` with the
/// arguments bound (per backend).
macro_rules! insert_actives {
    ($calls:expr) => {{
        let calls: &[&ActiveCall] = $calls;
        let mut insert = sqlx::QueryBuilder::new(INSERT_ACTIVES_HEAD);
        insert.push_values(calls, |mut row, call| {
            row.push_bind(&call.id.0)
                .push_bind(&call.sip_call_id)
                .push_bind(call.direction.as_str())
                .push_bind(&call.caller.number)
                .push_bind(&call.caller.name)
                .push_bind(&call.callee.number)
                .push_bind(&call.callee.name)
                .push_bind(call.started_at_ms)
                .push_bind(call.answered_at_ms)
                .push_bind(&call.answered_by)
                .push_bind(call.last_seen_at_ms.max(call.started_at_ms));
        });
        insert.push(INSERT_MANY_TAIL);
        insert
    }};
}

/// Builds the update noting the answers `$answers` (a `&[(&CallId, at_ms, answered_by)]`, at
/// most [`ROWS_PER_STATEMENT`], distinct calls) on the calls in progress: a
/// `sqlx::QueryBuilder` with the arguments bound (per backend).
macro_rules! answer_actives {
    ($answers:expr) => {{
        let answers: &[(&CallId, i64, Option<&str>)] = $answers;
        let mut update = sqlx::QueryBuilder::new(ANSWER_ACTIVES_HEAD);
        update.push_values(answers, |mut row, &(id, at_ms, answered_by)| {
            row.push_bind(&id.0).push_bind(at_ms).push_bind(answered_by);
        });
        update.push(ANSWER_ACTIVES_TAIL);
        update
    }};
}

/// Builds the delete of the calls in progress whose records are `$rows` (a `&[&RecordRow]`,
/// at most [`ROWS_PER_STATEMENT`]): a `sqlx::QueryBuilder` with the arguments bound (per
/// backend).
macro_rules! delete_actives {
    ($rows:expr) => {{
        let rows: &[&RecordRow<'_>] = $rows;
        let mut delete = sqlx::QueryBuilder::new(DELETE_ACTIVES_HEAD);
        let mut ids = delete.separated(", ");
        for row in rows {
            ids.push_bind(&row.record.id.0);
        }
        delete.push(DELETE_ACTIVES_TAIL);
        delete
    }};
}

/// Appends ` WHERE ...` for `$filter` to the `sqlx::QueryBuilder` `$qb` (nothing if the
/// filter selects everything). Expanded per backend, so the builder picks the placeholders.
macro_rules! push_filter {
    ($qb:ident, $filter:expr) => {{
        let filter: &CallFilter = $filter;
        let mut separator = " WHERE ";
        let mut and = || std::mem::replace(&mut separator, " AND ");
        if let Some(ext) = &filter.extension {
            $qb.push(and());
            $qb.push("(caller_number = ")
                .push_bind(ext.clone())
                .push(" OR callee_number = ")
                .push_bind(ext.clone())
                .push(" OR answered_by = ")
                .push_bind(ext.clone())
                .push(")");
        }
        if let Some(ext) = &filter.received_by {
            $qb.push(and());
            $qb.push("(callee_number = ")
                .push_bind(ext.clone())
                .push(" OR answered_by = ")
                .push_bind(ext.clone())
                .push(")");
        }
        if let Some(ext) = &filter.placed_by {
            $qb.push(and());
            $qb.push("caller_number = ").push_bind(ext.clone());
        }
        if let Some(direction) = filter.direction {
            $qb.push(and());
            $qb.push("direction = ").push_bind(direction.as_str());
        }
        if let Some(disposition) = filter.disposition {
            $qb.push(and());
            $qb.push("disposition = ").push_bind(disposition.as_str());
        }
        if let Some(since) = filter.since_ms {
            $qb.push(and());
            $qb.push("started_at_ms >= ").push_bind(since);
        }
        if let Some(until) = filter.until_ms {
            $qb.push(and());
            $qb.push("started_at_ms < ").push_bind(until);
        }
    }};
}

/// A `calls` row as stored.
#[derive(sqlx::FromRow)]
struct CallRow {
    id: String,
    sip_call_id: String,
    direction: String,
    caller_number: String,
    caller_name: Option<String>,
    callee_number: String,
    callee_name: Option<String>,
    started_at_ms: i64,
    answered_at_ms: Option<i64>,
    ended_at_ms: i64,
    disposition: String,
    disposition_detail: Option<String>,
    sip_status: Option<i32>,
    hangup_by: String,
    answered_by: Option<String>,
    wait_secs: Option<i64>,
    ring_secs: i64,
    talk_secs: i64,
    hold_secs: i64,
    queue_wait_secs: i64,
    interrupted: bool,
    legs: String,
    timeline: String,
}

impl CallRow {
    fn into_record(self, op: &'static str) -> Result<CallRecord, StoreError> {
        let id = self.id;
        let bad = |what: &str, value: &dyn std::fmt::Display| StoreError::OutOfRange {
            op,
            detail: format!("{what} = {value} for call {id:?}"),
        };
        let secs = |what: &str, value: i64| u32::try_from(value).map_err(|_| bad(what, &value));
        let timings = Timings {
            wait_secs: self.wait_secs.map(|w| secs("wait_secs", w)).transpose()?,
            ring_secs: secs("ring_secs", self.ring_secs)?,
            talk_secs: secs("talk_secs", self.talk_secs)?,
            hold_secs: secs("hold_secs", self.hold_secs)?,
            queue_wait_secs: secs("queue_wait_secs", self.queue_wait_secs)?,
        };
        let sip_status = self
            .sip_status
            .map(|s| u16::try_from(s).map_err(|_| bad("sip_status", &s)))
            .transpose()?;
        let direction =
            Direction::parse(&self.direction).ok_or_else(|| bad("direction", &self.direction))?;
        let disposition = Disposition::parse(&self.disposition)
            .ok_or_else(|| bad("disposition", &self.disposition))?;
        let hangup_by =
            HangupSide::parse(&self.hangup_by).ok_or_else(|| bad("hangup_by", &self.hangup_by))?;
        let legs: Vec<LegRecord> = serde_json::from_str(&self.legs).map_err(|e| bad("legs", &e))?;
        let timeline: Vec<CallEvent> =
            serde_json::from_str(&self.timeline).map_err(|e| bad("timeline", &e))?;
        Ok(CallRecord {
            id: CallId(id),
            sip_call_id: self.sip_call_id,
            direction,
            caller: Party {
                number: self.caller_number,
                name: self.caller_name,
            },
            callee: Party {
                number: self.callee_number,
                name: self.callee_name,
            },
            started_at_ms: self.started_at_ms,
            answered_at_ms: self.answered_at_ms,
            ended_at_ms: self.ended_at_ms,
            disposition,
            disposition_detail: self.disposition_detail,
            sip_status,
            hangup_by,
            answered_by: self.answered_by,
            timings,
            interrupted: self.interrupted,
            outbound: None,
            legs,
            timeline,
        })
    }
}

/// An `active_calls` row as stored.
#[derive(sqlx::FromRow)]
struct ActiveRow {
    id: String,
    sip_call_id: String,
    direction: String,
    caller_number: String,
    caller_name: Option<String>,
    callee_number: String,
    callee_name: Option<String>,
    started_at_ms: i64,
    answered_at_ms: Option<i64>,
    answered_by: Option<String>,
    last_seen_at_ms: i64,
}

impl ActiveRow {
    fn into_active(self, op: &'static str) -> Result<ActiveCall, StoreError> {
        let direction =
            Direction::parse(&self.direction).ok_or_else(|| StoreError::OutOfRange {
                op,
                detail: format!("direction = {} for call {:?}", self.direction, self.id),
            })?;
        Ok(ActiveCall {
            id: CallId(self.id),
            sip_call_id: self.sip_call_id,
            direction,
            caller: Party {
                number: self.caller_number,
                name: self.caller_name,
            },
            callee: Party {
                number: self.callee_number,
                name: self.callee_name,
            },
            started_at_ms: self.started_at_ms,
            answered_at_ms: self.answered_at_ms,
            answered_by: self.answered_by,
            last_seen_at_ms: self.last_seen_at_ms,
        })
    }
}

impl ActiveCall {
    /// The record of a call crossbar lost while it was up (DESIGN.md §1 with
    /// `EndReason::Interrupted`): it ends at the last time crossbar knew it to be up (never
    /// after `now_ms`, never before it started), ended by the system, `interrupted`, answered
    /// if it had been answered and `failed` otherwise. The timeline is rebuilt from what the
    /// active row remembers (start, answer, end).
    pub fn into_interrupted_record(self, now_ms: i64) -> CallRecord {
        let last_known = self
            .last_seen_at_ms
            .max(self.answered_at_ms.unwrap_or(self.started_at_ms));
        let ended_at_ms = last_known.min(now_ms).max(self.started_at_ms);
        let call = self.id.clone();
        let event = |at_ms: i64, kind: EventKind| CallEvent {
            call: call.clone(),
            at_ms,
            kind,
        };
        let mut events = vec![
            event(
                self.started_at_ms,
                EventKind::Started {
                    direction: self.direction,
                    caller: self.caller.clone(),
                    callee: self.callee.clone(),
                    sip_call_id: self.sip_call_id.clone(),
                },
            ),
            event(
                self.started_at_ms,
                EventKind::LegCreated {
                    leg: LegId(0),
                    role: LegRole::Caller,
                    target: self.caller.number.clone(),
                    contact: None,
                    trunk: None,
                    rate: None,
                },
            ),
        ];
        if let Some(answered_at_ms) = self.answered_at_ms {
            let answered_at_ms = answered_at_ms.clamp(self.started_at_ms, ended_at_ms);
            events.push(event(
                answered_at_ms,
                EventKind::LegCreated {
                    leg: LegId(1),
                    role: LegRole::Callee,
                    target: self.answered_by.clone().unwrap_or_default(),
                    contact: None,
                    trunk: None,
                    rate: None,
                },
            ));
            events.push(event(answered_at_ms, EventKind::Answered { leg: LegId(1) }));
        }
        events.push(event(
            ended_at_ms,
            EventKind::Ended {
                reason: EndReason::Interrupted,
                hangup_by: HangupSide::System,
                status: None,
            },
        ));
        let mut recorder = Recorder::default();
        let mut record = None;
        for e in events {
            if let Some(RecorderOutput::Finished(finished)) = recorder.record(e) {
                record = Some(*finished);
            }
        }
        record.expect("a Started ... Ended sequence of one call always finishes its record")
    }
}

impl Store {
    /// Notes a call in progress (its `active_calls` row). Writing the same call again is a
    /// no-op, so a retry after an unacknowledged commit is harmless.
    pub async fn call_started(&self, call: &ActiveCall) -> Result<(), StoreError> {
        on_pool!(self, pool => insert_actives!(&[call])
            .build()
            .execute(pool)
            .await
            .map(drop)
            .map_err(db(STARTED_OP)))
    }

    /// Notes that the call in progress `id` was answered at `at_ms` by `answered_by`;
    /// returns whether the call was in progress.
    pub async fn call_answered(
        &self,
        id: &CallId,
        at_ms: i64,
        answered_by: Option<&str>,
    ) -> Result<bool, StoreError> {
        let updated = on_pool!(self, pool => sqlx::query(ANSWER_ACTIVE)
            .bind(&id.0)
            .bind(at_ms)
            .bind(answered_by)
            .execute(pool)
            .await
            .map_err(db(ANSWERED_OP))?
            .rows_affected());
        Ok(updated > 0)
    }

    /// Notes that every call in progress was still up at `at_ms` (what an interrupted record
    /// ends at after a crash); returns how many rows moved forward.
    pub async fn touch_active_calls(&self, at_ms: i64) -> Result<u64, StoreError> {
        const OP: &str = "refresh calls in progress";
        let updated = on_pool!(self, pool => sqlx::query(TOUCH_ACTIVE)
            .bind(at_ms)
            .execute(pool)
            .await
            .map_err(db(OP))?
            .rows_affected());
        Ok(updated)
    }

    /// Stores a finished call's record and forgets it as in progress, in one transaction.
    /// A record whose id is already stored is left as it is (a retry after an unacknowledged
    /// commit is harmless).
    pub async fn call_finished(&self, record: &CallRecord) -> Result<(), StoreError> {
        let row = RecordRow::new(record, FINISHED_OP)?;
        begin_write!(self, tx => {
            insert_records!(&[&row])
                .build()
                .execute(&mut *tx)
                .await
                .map_err(db(FINISHED_OP))?;
            sqlx::query(DELETE_ACTIVE)
                .bind(&record.id.0)
                .execute(&mut *tx)
                .await
                .map_err(db(FINISHED_OP))?;
            tx.commit().await.map_err(db("commit call record"))?;
        });
        Ok(())
    }

    /// Applies `changes` in order, in one transaction: the same as [`Store::call_started`],
    /// [`Store::call_answered`] and [`Store::call_finished`] one after the other, but either
    /// all of them are stored or, on error, none are (the transaction is rolled back) and the
    /// error is returned. Like those, re-applying a change is harmless (a started call or a
    /// record already stored is left as it is), and an answer for a call not in progress —
    /// never started, or already finished, possibly earlier in the same batch — changes
    /// nothing. So a batch whose commit was not acknowledged can simply be applied again.
    ///
    /// The changes are written in multi-row statements of up to 100 rows, so a batch costs a
    /// few statements rather than a few per call. To group them, changes to different calls
    /// may be reordered — never those of one call — which gives the same result, since each
    /// change touches only its own call's rows. Every record's legs and timeline are
    /// serialised before the transaction starts.
    pub async fn apply_call_changes(&self, changes: &[CallChange]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let writes = changes
            .iter()
            .map(Write::new)
            .collect::<Result<Vec<_>, _>>()?;
        begin_write!(self, tx => {
            for wave in waves(&writes) {
                for calls in wave.started.chunks(ROWS_PER_STATEMENT) {
                    insert_actives!(calls)
                        .build()
                        .execute(&mut *tx)
                        .await
                        .map_err(db(STARTED_OP))?;
                }
                for answers in wave.answered.chunks(ROWS_PER_STATEMENT) {
                    answer_actives!(answers)
                        .build()
                        .execute(&mut *tx)
                        .await
                        .map_err(db(ANSWERED_OP))?;
                }
                for rows in wave.finished.chunks(ROWS_PER_STATEMENT) {
                    insert_records!(rows)
                        .build()
                        .execute(&mut *tx)
                        .await
                        .map_err(db(FINISHED_OP))?;
                    delete_actives!(rows)
                        .build()
                        .execute(&mut *tx)
                        .await
                        .map_err(db(FINISHED_OP))?;
                }
            }
            tx.commit().await.map_err(db("commit call changes"))?;
        });
        Ok(())
    }

    /// Every call in progress, oldest first: after a crash, the calls crossbar lost.
    pub async fn interrupted_calls(&self) -> Result<Vec<ActiveCall>, StoreError> {
        const OP: &str = "list calls in progress";
        let sql = format!("SELECT {ACTIVE_COLUMNS} FROM active_calls ORDER BY started_at_ms, id");
        let rows: Vec<ActiveRow> = on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(pool)
            .await
            .map_err(db(OP))?);
        rows.into_iter().map(|r| r.into_active(OP)).collect()
    }

    /// Turns every call in progress into an interrupted record
    /// ([`ActiveCall::into_interrupted_record`]), stores the records and empties
    /// `active_calls`, in one transaction; returns the records, oldest first. Call it at start,
    /// before any new call is recorded.
    pub async fn finish_interrupted(&self, now_ms: i64) -> Result<Vec<CallRecord>, StoreError> {
        const OP: &str = "finish interrupted calls";
        let sql = format!("SELECT {ACTIVE_COLUMNS} FROM active_calls ORDER BY started_at_ms, id");
        let records = begin_write!(self, tx => {
            let rows: Vec<ActiveRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .fetch_all(&mut *tx)
                .await
                .map_err(db(OP))?;
            let mut records = Vec::with_capacity(rows.len());
            for row in rows {
                let record = row.into_active(OP)?.into_interrupted_record(now_ms);
                let stored = RecordRow::new(&record, OP)?;
                insert_records!(&[&stored])
                    .build()
                    .execute(&mut *tx)
                    .await
                    .map_err(db(OP))?;
                sqlx::query(DELETE_ACTIVE)
                    .bind(&record.id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(db(OP))?;
                records.push(record);
            }
            tx.commit().await.map_err(db("commit interrupted calls"))?;
            records
        });
        Ok(records)
    }

    /// The record of call `id`, if stored.
    pub async fn call(&self, id: &CallId) -> Result<Option<CallRecord>, StoreError> {
        const OP: &str = "read call record";
        let sql = format!("SELECT {RECORD_COLUMNS} FROM calls WHERE id = $1");
        let row: Option<CallRow> = on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(&id.0)
            .fetch_optional(pool)
            .await
            .map_err(db(OP))?);
        row.map(|r| r.into_record(OP)).transpose()
    }

    /// The records `filter` selects, newest first (by start time, then id descending), one
    /// `page` of them (`limit` capped at [`Page::MAX_LIMIT`]).
    pub async fn calls(
        &self,
        filter: &CallFilter,
        page: Page,
    ) -> Result<Vec<CallRecord>, StoreError> {
        const OP: &str = "list call records";
        let limit = i64::from(page.limit.min(Page::MAX_LIMIT));
        let offset = i64::try_from(page.offset).unwrap_or(i64::MAX);
        let rows: Vec<CallRow> = on_pool!(self, pool => {
            let mut qb = sqlx::QueryBuilder::new(format!("SELECT {RECORD_COLUMNS} FROM calls"));
            push_filter!(qb, filter);
            qb.push(" ORDER BY started_at_ms DESC, id DESC LIMIT ")
                .push_bind(limit)
                .push(" OFFSET ")
                .push_bind(offset);
            qb.build_query_as()
                .fetch_all(pool)
                .await
                .map_err(db(OP))?
        });
        rows.into_iter().map(|r| r.into_record(OP)).collect()
    }

    /// How many records `filter` selects.
    pub async fn count_calls(&self, filter: &CallFilter) -> Result<u64, StoreError> {
        const OP: &str = "count call records";
        let count: i64 = on_pool!(self, pool => {
            let mut qb = sqlx::QueryBuilder::new("SELECT COUNT(*) FROM calls");
            push_filter!(qb, filter);
            qb.build_query_scalar()
                .fetch_one(pool)
                .await
                .map_err(db(OP))?
        });
        u64::try_from(count).map_err(|_| StoreError::OutOfRange {
            op: OP,
            detail: format!("count = {count}"),
        })
    }
}
