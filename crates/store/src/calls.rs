//! Call records (DESIGN.md §1): one row per finished call in `calls`, and one per call in
//! progress in `active_calls`, so that a crash leaves evidence.
//!
//! The life of a call in the store:
//! 1. [`Store::call_started`] writes its `active_calls` row;
//! 2. [`Store::call_answered`] notes the answer on that row — for a call answered through a
//!    trunk, with its routing, the trunk and the answering leg's rate;
//! 3. [`Store::touch_active_calls`] (every second or so, while crossbar runs) records that
//!    every call in progress is still up, in one single-row table (`active_calls_seen`), so
//!    the refresh costs the same with 2 calls up or 2,000;
//! 4. [`Store::call_finished`] inserts the record and deletes the active row in one
//!    transaction — which also applies the callback rules to the record the first time it is
//!    stored (`crate::callbacks`: a missed outside caller opens or adds to a callback task, an
//!    answered call with the number completes it).
//!
//! Steps 1, 2 and 4 of many calls can also be written together, as [`CallChange`]s, by
//! [`Store::apply_call_changes`]: one transaction for the lot, which is what keeps a busy
//! switch's records cheap (one commit per batch instead of three per call).
//!
//! After a crash, the rows left in `active_calls` are the calls crossbar lost;
//! [`Store::finish_interrupted`] turns each into an `interrupted` record (ending at the last
//! time crossbar knew it to be up; an outbound call keeps its routing and is charged for its
//! talk time up to then) at the next start.
//!
//! An outbound call's record keeps its outbound part in columns of its own (number as
//! dialled and normalised, destination class, route, caller ID, trunk, trunk attempts,
//! post-dial delay, cost in millionths), all NULL for calls that never reached the outbound
//! routes.
//!
//! An inbound call's record keeps where it came in (trunk, DID, inbound route, VIP,
//! language) in columns of its own, NULL for calls not from a trunk; every record keeps the
//! stage an abandoned call was given up in, its route path (JSON text), and the ring group
//! it reached last (`reached_group`, the last `group` step of the path: what the reports
//! group by, indexed like the DID and the route).
//!
//! A record's queue visits (`CallRecord::queues`: each queue the caller entered or was turned
//! away from, in order) are rows of `call_queues`, written in the transaction that writes the
//! record and read back with it; the queue report reads them by queue and time.
//!
//! Records are filtered on indexed columns (start time, direction, disposition, caller and
//! callee number, the extension that answered, trunk, destination class) and listed newest
//! first. Legs, the timeline and the route path are stored as JSON text in the record's
//! row: shown, never filtered on, and portable across both backends.

use crossbar_cdr::metrics::Period;
use crossbar_cdr::metrics::inbound::{InboundCall, reached_group};
use crossbar_cdr::metrics::outbound::{OutboundCall, TrunkLeg};
use crossbar_cdr::metrics::queues::QueueCall;
use crossbar_cdr::record::Outbound;
use crossbar_cdr::{
    CallEvent, CallId, CallRecord, DestinationClass, Direction, Disposition, EndReason, EventKind,
    HangupSide, Inbound, Increment, LegId, LegRecord, LegRole, Money, Party, PathStep,
    QueueOutcome, QueueVisit, Rate, Recorder, RecorderOutput, Stage, Timings,
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
    /// The trunk of the leg that answered, when it went through one.
    pub trunk: Option<String>,
    /// The rate of the leg that answered: what the call costs if crossbar stops before it ends.
    pub rate: Option<Rate>,
    /// For a call routed out, its outbound part as known at the answer (`cost` zero; the trunk
    /// is the answering leg's): what its record keeps if crossbar stops before it ends.
    pub outbound: Option<Outbound>,
    /// The last time crossbar knew the call to be up (unix milliseconds).
    pub last_seen_at_ms: i64,
    /// The callback task the call was placed for ([`CallChange::Callback`]): its record
    /// counts an attempt on it, interrupted or not.
    pub callback_task: Option<i64>,
}

/// A call in progress was answered: what [`Store::call_answered`] notes on its
/// `active_calls` row (crossbar-cdr's `RecorderOutput::Answered`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub id: CallId,
    /// When (unix milliseconds).
    pub at_ms: i64,
    /// The extension (leg target) that answered.
    pub answered_by: Option<String>,
    /// The trunk of the leg that answered, when it went through one.
    pub trunk: Option<String>,
    /// That leg's rate.
    pub rate: Option<Rate>,
    /// The outbound part of the record as known at the answer (`cost` zero).
    pub outbound: Option<Outbound>,
}

impl Answer {
    /// An answer by `answered_by` with no trunk (a call between extensions).
    pub fn by(id: CallId, at_ms: i64, answered_by: Option<String>) -> Answer {
        Answer {
            id,
            at_ms,
            answered_by,
            trunk: None,
            rate: None,
            outbound: None,
        }
    }
}

/// One step of a call's life, for [`Store::apply_call_changes`]: what [`Store::call_started`],
/// [`Store::call_answered`] and [`Store::call_finished`] write one at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallChange {
    /// The call started: its `active_calls` row ([`Store::call_started`]).
    Started(ActiveCall),
    /// A call in progress was answered ([`Store::call_answered`]).
    Answered(Answer),
    /// A call in progress was placed for a callback task ([`Store::call_placed_for`]).
    Callback { id: CallId, task: i64 },
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
                trunk: None,
                rate: None,
                outbound: None,
                last_seen_at_ms: started_at_ms,
                callback_task: None,
            }),
            RecorderOutput::Answered {
                call,
                answered_at_ms,
                answered_by,
                trunk,
                rate,
                outbound,
            } => CallChange::Answered(Answer {
                id: call,
                at_ms: answered_at_ms,
                answered_by,
                trunk,
                rate,
                outbound,
            }),
            RecorderOutput::Callback { call, task } => CallChange::Callback { id: call, task },
            RecorderOutput::Finished(record) => CallChange::Finished(record),
        }
    }
}

impl CallChange {
    /// The call this change is about.
    pub fn call(&self) -> &CallId {
        match self {
            CallChange::Started(call) => &call.id,
            CallChange::Answered(answer) => &answer.id,
            CallChange::Callback { id, .. } => id,
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
    /// Outbound calls carried by this trunk (the trunk that answered, else the last tried).
    pub trunk: Option<String>,
    /// Outbound calls to numbers of this destination class.
    pub class: Option<DestinationClass>,
}

/// Whether [`Store::outbound_calls`] reads each call's trunk legs: only the per-trunk figures
/// need them, and they are the costliest part to read (parsed from the legs' JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrunkLegs {
    Include,
    Omit,
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
     hold_secs, queue_wait_secs, interrupted, legs, timeline, dialled, normalized_number, \
     destination_class, outbound_route, caller_id, trunk, trunk_attempts, pdd_ms, cost_micros, \
     inbound_trunk, did, inbound_route, vip, language, abandoned_stage, path, callback_task";
/// An `active_calls` row, its `last_seen_at_ms` moved up to the last time every call in
/// progress was known to be up (`active_calls_seen`): `FROM active_calls a` with that joined.
const ACTIVE_SELECT: &str = "SELECT a.id, a.sip_call_id, a.direction, a.caller_number, \
     a.caller_name, a.callee_number, a.callee_name, a.started_at_ms, a.answered_at_ms, \
     a.answered_by, a.dialled, a.normalized_number, a.destination_class, a.outbound_route, \
     a.caller_id, a.trunk, a.trunk_attempts, a.pdd_ms, a.rate_per_minute_micros, \
     a.rate_connection_fee_micros, a.rate_increment, a.callback_task, \
     CASE WHEN s.seen_at_ms > a.last_seen_at_ms THEN s.seen_at_ms ELSE a.last_seen_at_ms END \
     AS last_seen_at_ms \
     FROM active_calls a LEFT JOIN active_calls_seen s ON s.id = 1 \
     ORDER BY a.started_at_ms, a.id";

/// One statement, one row, whatever the number of calls up.
const TOUCH_ACTIVE: &str = "UPDATE active_calls_seen SET seen_at_ms = $1 \
     WHERE id = 1 AND seen_at_ms < $1";
const DELETE_ACTIVE: &str = "DELETE FROM active_calls WHERE id = $1";
/// Rare (callbacks only, one per call): a statement per call.
const CALLBACK_ACTIVE: &str = "UPDATE active_calls SET callback_task = $1 WHERE id = $2";
const CALLBACK_OP: &str = "store the callback task of a call in progress";
/// Multi-row statements (one row is a multi-row statement too): a `*_HEAD`, then
/// `VALUES (...), (...)` (or the ids), then the `*_TAIL`. A batch's statements each touch
/// distinct calls (see [`waves`]), so no row is inserted or updated twice by one statement.
const INSERT_ACTIVES_HEAD: &str = "INSERT INTO active_calls (id, sip_call_id, direction, \
     caller_number, caller_name, callee_number, callee_name, started_at_ms, answered_at_ms, \
     answered_by, last_seen_at_ms, dialled, normalized_number, destination_class, \
     outbound_route, caller_id, trunk, trunk_attempts, pdd_ms, rate_per_minute_micros, \
     rate_connection_fee_micros, rate_increment, callback_task) ";
const INSERT_RECORDS_HEAD: &str = "INSERT INTO calls (id, sip_call_id, direction, \
     caller_number, caller_name, callee_number, callee_name, started_at_ms, answered_at_ms, \
     ended_at_ms, disposition, disposition_detail, sip_status, hangup_by, answered_by, \
     wait_secs, ring_secs, talk_secs, hold_secs, queue_wait_secs, interrupted, legs, \
     timeline, dialled, normalized_number, destination_class, outbound_route, caller_id, trunk, \
     trunk_attempts, pdd_ms, cost_micros, inbound_trunk, did, inbound_route, vip, language, \
     abandoned_stage, path, reached_group, callback_task) ";
const INSERT_MANY_TAIL: &str = " ON CONFLICT (id) DO NOTHING";
/// The queue visits of records: a multi-row statement like the records'. A record already
/// stored has its visits stored too (same transaction), so they are skipped with it.
const INSERT_VISITS_HEAD: &str = "INSERT INTO call_queues (call_id, ord, queue, joined_at_ms, \
     position, wait_ms, offered, outcome, agent) ";
const INSERT_VISITS_TAIL: &str = " ON CONFLICT (call_id, ord) DO NOTHING";
const VISIT_COLUMNS: &str = "call_id, ord, queue, joined_at_ms, position, wait_ms, offered, \
     outcome, agent";
/// Queue visits per multi-row statement (9 parameters each).
const VISITS_PER_STATEMENT: usize = 500;
/// The answers are a `VALUES` table (`column1`, `column2`, ... are the default column names
/// of `VALUES` on both backends): the call, the time, who answered, then the outbound part
/// and the answering leg's trunk and rate in the order of [`ActiveOutbound::columns`].
const ANSWER_ACTIVES_HEAD: &str = "UPDATE active_calls SET answered_at_ms = a.column2, \
     answered_by = a.column3, last_seen_at_ms = CASE WHEN active_calls.last_seen_at_ms > \
     a.column2 THEN active_calls.last_seen_at_ms ELSE a.column2 END, \
     dialled = a.column4, normalized_number = a.column5, destination_class = a.column6, \
     outbound_route = a.column7, caller_id = a.column8, trunk = a.column9, \
     trunk_attempts = a.column10, pdd_ms = a.column11, rate_per_minute_micros = a.column12, \
     rate_connection_fee_micros = a.column13, rate_increment = a.column14 FROM (";
const ANSWER_ACTIVES_TAIL: &str = ") AS a WHERE active_calls.id = a.column1";
const DELETE_ACTIVES_HEAD: &str = "DELETE FROM active_calls WHERE id IN (";
const DELETE_ACTIVES_TAIL: &str = ")";
/// Rows per multi-row statement: at 40 parameters a record, far below both backends' limits
/// (SQLite 32,766, PostgreSQL 65,535), while saving a round trip per row.
const ROWS_PER_STATEMENT: usize = 100;

/// A record ready to bind: its JSON columns serialised up front, so that a serialisation
/// failure surfaces before any transaction starts.
struct RecordRow<'a> {
    record: &'a CallRecord,
    legs: String,
    timeline: String,
    path: String,
    outbound: OutboundColumns<'a>,
    /// The ring group the call reached last (`calls.reached_group`).
    reached_group: Option<&'a str>,
    /// Its queue visits, each with its offers as JSON.
    visits: Vec<VisitRow<'a>>,
}

/// One queue visit of a record, ready to bind (`call_queues`).
struct VisitRow<'a> {
    call: &'a CallId,
    ord: i64,
    visit: &'a QueueVisit,
    /// `visit.offered` as a JSON array.
    offered: String,
}

/// The outbound columns of `calls` (and, but for the cost, of `active_calls`): all `None` for
/// a call that was not routed out.
#[derive(Default)]
struct OutboundColumns<'a> {
    dialled: Option<&'a str>,
    normalized_number: Option<&'a str>,
    destination_class: Option<&'static str>,
    outbound_route: Option<&'a str>,
    caller_id: Option<&'a str>,
    trunk: Option<&'a str>,
    trunk_attempts: Option<i64>,
    pdd_ms: Option<i64>,
    cost_micros: Option<i64>,
}

impl<'a> OutboundColumns<'a> {
    fn new(outbound: Option<&'a Outbound>) -> OutboundColumns<'a> {
        outbound.map_or_else(OutboundColumns::default, |o| OutboundColumns {
            dialled: Some(&o.dialled),
            normalized_number: Some(&o.normalized),
            destination_class: Some(o.class.as_str()),
            outbound_route: o.route.as_deref(),
            caller_id: o.caller_id.as_deref(),
            trunk: o.trunk.as_deref(),
            trunk_attempts: Some(i64::from(o.attempts)),
            pdd_ms: o.pdd_ms,
            cost_micros: Some(o.cost.0),
        })
    }
}

/// What `active_calls` keeps of an answered call's outbound part and answering leg.
struct ActiveOutbound<'a> {
    outbound: OutboundColumns<'a>,
    trunk: Option<&'a str>,
    rate_per_minute_micros: Option<i64>,
    rate_connection_fee_micros: Option<i64>,
    rate_increment: Option<String>,
}

impl<'a> ActiveOutbound<'a> {
    fn new(
        outbound: Option<&'a Outbound>,
        trunk: Option<&'a str>,
        rate: Option<Rate>,
    ) -> ActiveOutbound<'a> {
        ActiveOutbound {
            outbound: OutboundColumns::new(outbound),
            trunk: trunk.or(outbound.and_then(|o| o.trunk.as_deref())),
            rate_per_minute_micros: rate.map(|r| r.per_minute.0),
            rate_connection_fee_micros: rate.map(|r| r.connection_fee.0),
            rate_increment: rate.map(|r| r.increment.to_string()),
        }
    }
}

/// Binds the eleven outbound columns of `active_calls` (after `last_seen_at_ms` in an insert,
/// `column4`..`column14` of an answer) from an [`ActiveOutbound`].
macro_rules! bind_active_outbound {
    ($row:ident, $active:expr) => {{
        let active: &ActiveOutbound<'_> = $active;
        let o = &active.outbound;
        $row.push_bind(o.dialled)
            .push_bind(o.normalized_number)
            .push_bind(o.destination_class)
            .push_bind(o.outbound_route)
            .push_bind(o.caller_id)
            .push_bind(active.trunk)
            .push_bind(o.trunk_attempts)
            .push_bind(o.pdd_ms)
            .push_bind(active.rate_per_minute_micros)
            .push_bind(active.rate_connection_fee_micros)
            .push_bind(active.rate_increment.clone());
    }};
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
        let visits = record
            .queues
            .iter()
            .enumerate()
            .map(|(ord, visit)| {
                Ok(VisitRow {
                    call: &record.id,
                    ord: i64::try_from(ord).expect("a record's visits are far fewer than i64::MAX"),
                    visit,
                    offered: json("queue offers", serde_json::to_string(&visit.offered))?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(RecordRow {
            record,
            visits,
            legs: json("legs", serde_json::to_string(&record.legs))?,
            timeline: json("timeline", serde_json::to_string(&record.timeline))?,
            path: json("path", serde_json::to_string(&record.path))?,
            outbound: OutboundColumns::new(record.outbound.as_ref()),
            reached_group: reached_group(&record.path),
        })
    }
}

/// A [`CallChange`] ready to bind (a record's JSON serialised).
enum Write<'a> {
    Started(&'a ActiveCall),
    Answered(&'a Answer),
    Callback(&'a CallId, i64),
    Finished(Box<RecordRow<'a>>),
}

impl<'a> Write<'a> {
    fn call(&self) -> &'a CallId {
        match self {
            Write::Started(call) => &call.id,
            Write::Answered(answer) => &answer.id,
            Write::Callback(id, _) => id,
            Write::Finished(row) => &row.record.id,
        }
    }

    fn new(change: &'a CallChange) -> Result<Write<'a>, StoreError> {
        Ok(match change {
            CallChange::Started(call) => Write::Started(call),
            CallChange::Answered(answer) => Write::Answered(answer),
            CallChange::Callback { id, task } => Write::Callback(id, *task),
            CallChange::Finished(record) => {
                Write::Finished(Box::new(RecordRow::new(record, FINISHED_OP)?))
            }
        })
    }
}

/// The changes of one wave of a batch (see [`waves`]), by kind; each call appears at most once.
#[derive(Default)]
struct Wave<'w> {
    started: Vec<&'w ActiveCall>,
    answered: Vec<&'w Answer>,
    callbacks: Vec<(&'w CallId, i64)>,
    finished: Vec<&'w RecordRow<'w>>,
}

/// Splits a batch into waves that write the same as the changes applied in order, with as
/// few statements as possible: wave `k` holds every call's `k`-th change in the batch.
///
/// Every change touches only its own call's rows, so changes to different calls commute:
/// only each call's own changes must stay in order, and the waves keep that order. Within a
/// wave the calls are distinct, so its changes can go in any order — the calls started
/// first, then the answers and callback tasks, then the records — each kind in multi-row
/// statements (but the rare callback tasks, one statement each).
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
            Write::Answered(answer) => wave.answered.push(answer),
            Write::Callback(id, task) => wave.callbacks.push((id, *task)),
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
            let o = &row.outbound;
            bind.push_bind(o.dialled)
                .push_bind(o.normalized_number)
                .push_bind(o.destination_class)
                .push_bind(o.outbound_route)
                .push_bind(o.caller_id)
                .push_bind(o.trunk)
                .push_bind(o.trunk_attempts)
                .push_bind(o.pdd_ms)
                .push_bind(o.cost_micros);
            let i = r.inbound.as_ref();
            bind.push_bind(i.map(|i| i.trunk.as_str()))
                .push_bind(i.map(|i| i.did.as_str()))
                .push_bind(i.and_then(|i| i.route.as_deref()))
                .push_bind(i.map(|i| i.vip))
                .push_bind(i.and_then(|i| i.language.as_deref()))
                .push_bind(r.abandoned_stage.map(Stage::as_str))
                .push_bind(&row.path)
                .push_bind(row.reached_group)
                .push_bind(r.callback_task);
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
            let outbound =
                ActiveOutbound::new(call.outbound.as_ref(), call.trunk.as_deref(), call.rate);
            bind_active_outbound!(row, &outbound);
            row.push_bind(call.callback_task);
        });
        insert.push(INSERT_MANY_TAIL);
        insert
    }};
}

/// Builds the update noting the answers `$answers` (a `&[&Answer]`, at most
/// [`ROWS_PER_STATEMENT`], distinct calls) on the calls in progress: a `sqlx::QueryBuilder`
/// with the arguments bound (per backend).
macro_rules! answer_actives {
    ($answers:expr) => {{
        let answers: &[&Answer] = $answers;
        let mut update = sqlx::QueryBuilder::new(ANSWER_ACTIVES_HEAD);
        update.push_values(answers, |mut row, answer| {
            row.push_bind(&answer.id.0)
                .push_bind(answer.at_ms)
                .push_bind(answer.answered_by.as_deref());
            let outbound = ActiveOutbound::new(
                answer.outbound.as_ref(),
                answer.trunk.as_deref(),
                answer.rate,
            );
            bind_active_outbound!(row, &outbound);
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

/// Builds the insert of the queue visits `$visits` (a `&[&VisitRow]`, at most
/// [`VISITS_PER_STATEMENT`]) into `call_queues`, skipping those already stored: a
/// `sqlx::QueryBuilder` with the arguments bound (per backend).
macro_rules! insert_visits {
    ($visits:expr) => {{
        let visits: &[&VisitRow<'_>] = $visits;
        let mut insert = sqlx::QueryBuilder::new(INSERT_VISITS_HEAD);
        insert.push_values(visits, |mut bind, row| {
            let v = row.visit;
            bind.push_bind(&row.call.0)
                .push_bind(row.ord)
                .push_bind(&v.queue)
                .push_bind(v.joined_at_ms)
                .push_bind(v.position.map(i64::from))
                .push_bind(v.wait_ms.max(0))
                .push_bind(&row.offered)
                .push_bind(v.outcome.as_str())
                .push_bind(v.agent.as_deref());
        });
        insert.push(INSERT_VISITS_TAIL);
        insert
    }};
}

/// Inserts the queue visits of the records `$rows` (a `&[&RecordRow]`) on the transaction
/// `$tx`, in statements of at most [`VISITS_PER_STATEMENT`] visits; `?`s a [`StoreError`]
/// for `$op`.
macro_rules! write_visits {
    ($tx:ident, $rows:expr, $op:expr) => {{
        let rows: &[&RecordRow<'_>] = $rows;
        let visits: Vec<&VisitRow<'_>> = rows.iter().flat_map(|r| r.visits.iter()).collect();
        for chunk in visits.chunks(VISITS_PER_STATEMENT) {
            insert_visits!(chunk)
                .build()
                .execute(&mut *$tx)
                .await
                .map_err(db($op))?;
        }
    }};
}

/// Reads the queue visits of the calls `$ids` (a `&[&str]`, at most [`Page::MAX_LIMIT`])
/// from `$executor`, by call and in order; `?`s a [`StoreError`] for `$op`.
macro_rules! select_visits {
    ($executor:expr, $ids:expr, $op:expr) => {{
        let ids: &[&str] = $ids;
        if ids.is_empty() {
            Vec::new()
        } else {
            let mut select = sqlx::QueryBuilder::new(format!(
                "SELECT {VISIT_COLUMNS} FROM call_queues WHERE call_id IN ("
            ));
            let mut list = select.separated(", ");
            for id in ids {
                list.push_bind(*id);
            }
            select.push(") ORDER BY call_id, ord");
            let rows: Vec<VisitStored> = select
                .build_query_as()
                .fetch_all($executor)
                .await
                .map_err(db($op))?;
            rows
        }
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
        if let Some(trunk) = &filter.trunk {
            $qb.push(and());
            $qb.push("trunk = ").push_bind(trunk.clone());
        }
        if let Some(class) = filter.class {
            $qb.push(and());
            $qb.push("destination_class = ").push_bind(class.as_str());
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
    dialled: Option<String>,
    normalized_number: Option<String>,
    destination_class: Option<String>,
    outbound_route: Option<String>,
    caller_id: Option<String>,
    trunk: Option<String>,
    trunk_attempts: Option<i64>,
    pdd_ms: Option<i64>,
    cost_micros: Option<i64>,
    inbound_trunk: Option<String>,
    did: Option<String>,
    inbound_route: Option<String>,
    vip: Option<bool>,
    language: Option<String>,
    abandoned_stage: Option<String>,
    path: String,
    callback_task: Option<i64>,
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
        let outbound = match self.destination_class {
            None => None,
            Some(class) => {
                let missing = |what: &str| bad(what, &"NULL");
                Some(Outbound {
                    dialled: self.dialled.ok_or_else(|| missing("dialled"))?,
                    normalized: self
                        .normalized_number
                        .ok_or_else(|| missing("normalized_number"))?,
                    class: DestinationClass::parse(&class)
                        .ok_or_else(|| bad("destination_class", &class))?,
                    route: self.outbound_route,
                    caller_id: self.caller_id,
                    trunk: self.trunk,
                    attempts: self
                        .trunk_attempts
                        .map(|a| u32::try_from(a).map_err(|_| bad("trunk_attempts", &a)))
                        .transpose()?
                        .ok_or_else(|| missing("trunk_attempts"))?,
                    pdd_ms: self.pdd_ms,
                    cost: Money(self.cost_micros.ok_or_else(|| missing("cost_micros"))?),
                })
            }
        };
        let inbound = match (self.inbound_trunk, self.did, self.vip) {
            (None, None, None) => None,
            (Some(trunk), Some(did), Some(vip)) => Some(Inbound {
                trunk,
                did,
                route: self.inbound_route,
                vip,
                language: self.language,
            }),
            _ => return Err(bad("inbound trunk, DID and VIP", &"partly NULL")),
        };
        let abandoned_stage = self
            .abandoned_stage
            .map(|s| Stage::parse(&s).ok_or_else(|| bad("abandoned_stage", &s)))
            .transpose()?;
        let path: Vec<PathStep> = serde_json::from_str(&self.path).map_err(|e| bad("path", &e))?;
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
            outbound,
            inbound,
            path,
            abandoned_stage,
            // Read from `call_queues` by the caller of `into_record`.
            queues: Vec::new(),
            callback_task: self.callback_task,
            legs,
            timeline,
        })
    }
}

/// A `call_queues` row as stored.
#[derive(sqlx::FromRow)]
struct VisitStored {
    call_id: String,
    ord: i64,
    queue: String,
    joined_at_ms: i64,
    position: Option<i64>,
    wait_ms: i64,
    offered: String,
    outcome: String,
    agent: Option<String>,
}

impl VisitStored {
    fn into_visit(self, op: &'static str) -> Result<QueueVisit, StoreError> {
        let (call, ord) = (&self.call_id, self.ord);
        let bad = |what: &str, value: &dyn std::fmt::Display| StoreError::OutOfRange {
            op,
            detail: format!("{what} = {value} for queue visit {ord} of call {call:?}"),
        };
        Ok(QueueVisit {
            position: self
                .position
                .map(|p| u32::try_from(p).map_err(|_| bad("position", &p)))
                .transpose()?,
            offered: serde_json::from_str(&self.offered).map_err(|e| bad("offered", &e))?,
            outcome: QueueOutcome::parse(&self.outcome)
                .ok_or_else(|| bad("outcome", &self.outcome))?,
            queue: self.queue,
            joined_at_ms: self.joined_at_ms,
            wait_ms: self.wait_ms,
            agent: self.agent,
        })
    }
}

/// What [`Store::queue_calls`] reads of a `call_queues` row and its call.
#[derive(sqlx::FromRow)]
struct QueueCallRow {
    queue: String,
    joined_at_ms: i64,
    position: Option<i64>,
    wait_ms: i64,
    outcome: String,
    agent: Option<String>,
    talk_secs: i64,
}

impl QueueCallRow {
    fn into_call(self, op: &'static str) -> Result<QueueCall, StoreError> {
        let (queue, at) = (&self.queue, self.joined_at_ms);
        let bad = |what: &str, value: &dyn std::fmt::Display| StoreError::OutOfRange {
            op,
            detail: format!("{what} = {value} for the visit to {queue:?} at {at} ms"),
        };
        Ok(QueueCall {
            position: self
                .position
                .map(|p| u32::try_from(p).map_err(|_| bad("position", &p)))
                .transpose()?,
            outcome: QueueOutcome::parse(&self.outcome)
                .ok_or_else(|| bad("outcome", &self.outcome))?,
            talk_secs: u32::try_from(self.talk_secs)
                .map_err(|_| bad("talk_secs", &self.talk_secs))?,
            queue: self.queue,
            joined_at_ms: self.joined_at_ms,
            wait_ms: self.wait_ms,
            agent: self.agent,
        })
    }
}

/// What [`Store::outbound_calls`] reads of a `calls` row.
#[derive(sqlx::FromRow)]
struct OutboundRow {
    started_at_ms: i64,
    caller_number: String,
    disposition: String,
    disposition_detail: Option<String>,
    talk_secs: i64,
    destination_class: Option<String>,
    trunk_attempts: Option<i64>,
    pdd_ms: Option<i64>,
    cost_micros: Option<i64>,
    /// `None` unless the trunk legs were asked for.
    legs: Option<String>,
}

/// What [`Store::inbound_calls`] reads of a `calls` row.
#[derive(sqlx::FromRow)]
struct InboundRow {
    started_at_ms: i64,
    answered_at_ms: Option<i64>,
    ended_at_ms: i64,
    disposition: String,
    abandoned_stage: Option<String>,
    queue_wait_secs: i64,
    did: Option<String>,
    inbound_route: Option<String>,
    reached_group: Option<String>,
}

/// How long before a report's period [`Store::inbound_calls`] looks for calls still up when
/// it began (for the period's max concurrent calls): a day. A call that started longer ago
/// and was still up is not counted.
pub const CARRIED_IN_LOOKBACK_MS: i64 = 86_400_000;

impl InboundRow {
    fn into_call(self, op: &'static str) -> Result<InboundCall, StoreError> {
        let at = self.started_at_ms;
        let bad = |what: &str, value: &dyn std::fmt::Display| StoreError::OutOfRange {
            op,
            detail: format!("{what} = {value} for the call started at {at} ms"),
        };
        Ok(InboundCall {
            started_at_ms: self.started_at_ms,
            answered_at_ms: self.answered_at_ms,
            ended_at_ms: self.ended_at_ms,
            disposition: Disposition::parse(&self.disposition)
                .ok_or_else(|| bad("disposition", &self.disposition))?,
            abandoned_stage: self
                .abandoned_stage
                .map(|s| Stage::parse(&s).ok_or_else(|| bad("abandoned_stage", &s)))
                .transpose()?,
            queue_wait_secs: u32::try_from(self.queue_wait_secs)
                .map_err(|_| bad("queue_wait_secs", &self.queue_wait_secs))?,
            did: self.did,
            route: self.inbound_route,
            group: self.reached_group,
        })
    }
}

/// The outbound calls of the metrics (`OutboundCall::counts`): by direction, or routed out.
/// Written exactly as the predicate of the partial index `calls_outbound_started_at`, so
/// that both backends read the period from that index.
const OUTBOUND_CALLS: &str = "(direction = 'outbound' OR destination_class IS NOT NULL)";

impl OutboundRow {
    fn into_call(self, op: &'static str) -> Result<OutboundCall, StoreError> {
        let at = self.started_at_ms;
        let bad = |what: &str, value: &dyn std::fmt::Display| StoreError::OutOfRange {
            op,
            detail: format!("{what} = {value} for the call started at {at} ms"),
        };
        let trunk_legs = match &self.legs {
            None => Vec::new(),
            Some(json) => serde_json::from_str::<Vec<LegRecord>>(json)
                .map_err(|e| bad("legs", &e))?
                .iter()
                .filter_map(TrunkLeg::of)
                .collect(),
        };
        Ok(OutboundCall {
            started_at_ms: self.started_at_ms,
            caller: self.caller_number,
            disposition: Disposition::parse(&self.disposition)
                .ok_or_else(|| bad("disposition", &self.disposition))?,
            disposition_detail: self.disposition_detail,
            talk_secs: u32::try_from(self.talk_secs)
                .map_err(|_| bad("talk_secs", &self.talk_secs))?,
            class: self
                .destination_class
                .map(|c| DestinationClass::parse(&c).ok_or_else(|| bad("destination_class", &c)))
                .transpose()?,
            trunk_attempts: self
                .trunk_attempts
                .map(|a| u32::try_from(a).map_err(|_| bad("trunk_attempts", &a)))
                .transpose()?
                .unwrap_or(0),
            pdd_ms: self.pdd_ms,
            cost: Money(self.cost_micros.unwrap_or(0)),
            trunk_legs,
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
    dialled: Option<String>,
    normalized_number: Option<String>,
    destination_class: Option<String>,
    outbound_route: Option<String>,
    caller_id: Option<String>,
    trunk: Option<String>,
    trunk_attempts: Option<i64>,
    pdd_ms: Option<i64>,
    rate_per_minute_micros: Option<i64>,
    rate_connection_fee_micros: Option<i64>,
    rate_increment: Option<String>,
    callback_task: Option<i64>,
    last_seen_at_ms: i64,
}

impl ActiveRow {
    fn into_active(self, op: &'static str) -> Result<ActiveCall, StoreError> {
        let id = &self.id;
        let bad = |what: &str, value: &dyn std::fmt::Display| StoreError::OutOfRange {
            op,
            detail: format!("{what} = {value} for call in progress {id:?}"),
        };
        let direction =
            Direction::parse(&self.direction).ok_or_else(|| bad("direction", &self.direction))?;
        let rate = match (
            self.rate_per_minute_micros,
            self.rate_connection_fee_micros,
            &self.rate_increment,
        ) {
            (None, None, None) => None,
            (Some(per_minute), Some(fee), Some(increment)) => Some(Rate {
                per_minute: Money(per_minute),
                connection_fee: Money(fee),
                increment: increment
                    .parse::<Increment>()
                    .map_err(|_| bad("rate_increment", increment))?,
            }),
            _ => return Err(bad("rate", &"partly NULL")),
        };
        let outbound = match (
            self.dialled,
            self.normalized_number,
            &self.destination_class,
        ) {
            (None, None, None) => None,
            (Some(dialled), Some(normalized), Some(class)) => Some(Outbound {
                dialled,
                normalized,
                class: DestinationClass::parse(class)
                    .ok_or_else(|| bad("destination_class", class))?,
                route: self.outbound_route,
                caller_id: self.caller_id,
                trunk: self.trunk.clone(),
                attempts: self
                    .trunk_attempts
                    .map(|a| u32::try_from(a).map_err(|_| bad("trunk_attempts", &a)))
                    .transpose()?
                    .unwrap_or(0),
                pdd_ms: self.pdd_ms,
                cost: Money::ZERO,
            }),
            _ => return Err(bad("outbound routing", &"partly NULL")),
        };
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
            trunk: self.trunk,
            rate,
            outbound,
            last_seen_at_ms: self.last_seen_at_ms,
            callback_task: self.callback_task,
        })
    }
}

impl ActiveCall {
    /// The record of a call crossbar lost while it was up (DESIGN.md §1 with
    /// `EndReason::Interrupted`): it ends at the last time crossbar knew it to be up (never
    /// after `now_ms`, never before it started), ended by the system, `interrupted`, answered
    /// if it had been answered and `failed` otherwise. The timeline is rebuilt from what the
    /// active row remembers (start, callback task, routing, answer, end). A call answered
    /// through a trunk keeps its outbound part — routing, trunk, attempts and post-dial delay
    /// as known at the answer — and is charged at the answering leg's rate for its talk time
    /// up to the end. A call placed for a callback task counts an attempt on it when stored.
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
        let mut events = vec![event(
            self.started_at_ms,
            EventKind::Started {
                direction: self.direction,
                caller: self.caller.clone(),
                callee: self.callee.clone(),
                sip_call_id: self.sip_call_id.clone(),
            },
        )];
        if let Some(task) = self.callback_task {
            events.push(event(
                self.started_at_ms,
                EventKind::Callback {
                    task: Some(task),
                    queue: None,
                    returns: None,
                },
            ));
        }
        if let Some(outbound) = &self.outbound {
            events.push(event(
                self.started_at_ms,
                EventKind::Routed {
                    dialled: outbound.dialled.clone(),
                    normalized: outbound.normalized.clone(),
                    class: outbound.class,
                    route: outbound.route.clone(),
                    caller_id: outbound.caller_id.clone(),
                },
            ));
        }
        events.push(event(
            self.started_at_ms,
            EventKind::LegCreated {
                leg: LegId(0),
                role: LegRole::Caller,
                target: self.caller.number.clone(),
                contact: None,
                trunk: None,
                rate: None,
            },
        ));
        if let Some(answered_at_ms) = self.answered_at_ms {
            let answered_at_ms = answered_at_ms.clamp(self.started_at_ms, ended_at_ms);
            events.push(event(
                answered_at_ms,
                EventKind::LegCreated {
                    leg: LegId(1),
                    role: LegRole::Callee,
                    target: self.answered_by.clone().unwrap_or_default(),
                    contact: None,
                    trunk: self.trunk.clone(),
                    rate: self.rate,
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
        let mut record =
            record.expect("a Started ... Ended sequence of one call always finishes its record");
        // The rebuilt timeline has at most one trunk leg; what was known at the answer stands.
        if let (Some(rebuilt), Some(known)) = (&mut record.outbound, &self.outbound) {
            rebuilt.attempts = rebuilt.attempts.max(known.attempts);
            rebuilt.pdd_ms = known.pdd_ms;
            if rebuilt.trunk.is_none() {
                rebuilt.trunk.clone_from(&known.trunk);
            }
        }
        record
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

    /// Notes the answer of a call in progress (who answered, and for a call answered through
    /// a trunk what its record needs should crossbar stop before it ends); returns whether
    /// the call was in progress.
    pub async fn call_answered(&self, answer: &Answer) -> Result<bool, StoreError> {
        let updated = on_pool!(self, pool => answer_actives!(&[answer])
            .build()
            .execute(pool)
            .await
            .map_err(db(ANSWERED_OP))?
            .rows_affected());
        Ok(updated > 0)
    }

    /// Notes that call `id`, in progress, was placed for callback task `task`; returns whether
    /// the call was in progress.
    pub async fn call_placed_for(&self, id: &CallId, task: i64) -> Result<bool, StoreError> {
        let updated = on_pool!(self, pool => sqlx::query(CALLBACK_ACTIVE)
            .bind(task)
            .bind(&id.0)
            .execute(pool)
            .await
            .map_err(db(CALLBACK_OP))?
            .rows_affected());
        Ok(updated > 0)
    }

    /// Notes that every call in progress was still up at `at_ms` (what an interrupted record
    /// ends at after a crash, unless the call started or was answered later). One single-row
    /// statement, however many calls are up; a time earlier than the last one noted changes
    /// nothing.
    pub async fn touch_active_calls(&self, at_ms: i64) -> Result<(), StoreError> {
        const OP: &str = "refresh calls in progress";
        on_pool!(self, pool => sqlx::query(TOUCH_ACTIVE)
            .bind(at_ms)
            .execute(pool)
            .await
            .map(drop)
            .map_err(db(OP)))
    }

    /// Stores a finished call's record and forgets it as in progress, in one transaction.
    /// A record whose id is already stored is left as it is (a retry after an unacknowledged
    /// commit is harmless).
    pub async fn call_finished(&self, record: &CallRecord) -> Result<(), StoreError> {
        let row = RecordRow::new(record, FINISHED_OP)?;
        begin_write!(self, tx => {
            let inserted: Vec<String> = insert_records!(&[&row])
                .push(" RETURNING id")
                .build_query_scalar()
                .fetch_all(&mut *tx)
                .await
                .map_err(db(FINISHED_OP))?;
            write_visits!(tx, &[&row], FINISHED_OP);
            if !inserted.is_empty() {
                apply_callback_rules!(tx, &[record], &self.callbacks, FINISHED_OP);
            }
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
            // The records this batch stores first, for the callback rules.
            let mut inserted: std::collections::HashSet<String> = std::collections::HashSet::new();
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
                for (id, task) in &wave.callbacks {
                    sqlx::query(CALLBACK_ACTIVE)
                        .bind(task)
                        .bind(&id.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(db(CALLBACK_OP))?;
                }
                for rows in wave.finished.chunks(ROWS_PER_STATEMENT) {
                    let ids: Vec<String> = insert_records!(rows)
                        .push(" RETURNING id")
                        .build_query_scalar()
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(db(FINISHED_OP))?;
                    inserted.extend(ids);
                    write_visits!(tx, rows, FINISHED_OP);
                    delete_actives!(rows)
                        .build()
                        .execute(&mut *tx)
                        .await
                        .map_err(db(FINISHED_OP))?;
                }
            }
            // In the order the calls ended: a miss before the call that completes it.
            let first_stored: Vec<&CallRecord> = writes
                .iter()
                .filter_map(|write| match write {
                    Write::Finished(row) if inserted.contains(&row.record.id.0) => Some(row.record),
                    _ => None,
                })
                .collect();
            apply_callback_rules!(tx, &first_stored, &self.callbacks, FINISHED_OP);
            tx.commit().await.map_err(db("commit call changes"))?;
        });
        Ok(())
    }

    /// Every call in progress, oldest first: after a crash, the calls crossbar lost.
    pub async fn interrupted_calls(&self) -> Result<Vec<ActiveCall>, StoreError> {
        const OP: &str = "list calls in progress";
        let rows: Vec<ActiveRow> = on_pool!(self, pool => sqlx::query_as(ACTIVE_SELECT)
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
        let records = begin_write!(self, tx => {
            let rows: Vec<ActiveRow> = sqlx::query_as(ACTIVE_SELECT)
                .fetch_all(&mut *tx)
                .await
                .map_err(db(OP))?;
            let mut records = Vec::with_capacity(rows.len());
            for row in rows {
                let record = row.into_active(OP)?.into_interrupted_record(now_ms);
                let stored = RecordRow::new(&record, OP)?;
                let inserted: Vec<String> = insert_records!(&[&stored])
                    .push(" RETURNING id")
                    .build_query_scalar()
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db(OP))?;
                if !inserted.is_empty() {
                    apply_callback_rules!(tx, &[&record], &self.callbacks, OP);
                }
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
        let (row, visits): (Option<CallRow>, Vec<VisitStored>) = on_pool!(self, pool => {
            let row: Option<CallRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(&id.0)
                .fetch_optional(pool)
                .await
                .map_err(db(OP))?;
            let visits = match &row {
                Some(row) => select_visits!(pool, &[row.id.as_str()], OP),
                None => Vec::new(),
            };
            (row, visits)
        });
        let Some(row) = row else {
            return Ok(None);
        };
        let mut record = row.into_record(OP)?;
        record.queues = visits
            .into_iter()
            .map(|v| v.into_visit(OP))
            .collect::<Result<_, _>>()?;
        Ok(Some(record))
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
        let (rows, visits): (Vec<CallRow>, Vec<VisitStored>) = on_pool!(self, pool => {
            let mut qb = sqlx::QueryBuilder::new(format!("SELECT {RECORD_COLUMNS} FROM calls"));
            push_filter!(qb, filter);
            qb.push(" ORDER BY started_at_ms DESC, id DESC LIMIT ")
                .push_bind(limit)
                .push(" OFFSET ")
                .push_bind(offset);
            let rows: Vec<CallRow> = qb
                .build_query_as()
                .fetch_all(pool)
                .await
                .map_err(db(OP))?;
            let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
            let visits = select_visits!(pool, &ids, OP);
            (rows, visits)
        });
        let mut by_call: std::collections::HashMap<String, Vec<QueueVisit>> =
            std::collections::HashMap::new();
        for stored in visits {
            let call = stored.call_id.clone();
            by_call
                .entry(call)
                .or_default()
                .push(stored.into_visit(OP)?);
        }
        rows.into_iter()
            .map(|r| {
                let queues = by_call.remove(&r.id).unwrap_or_default();
                let mut record = r.into_record(OP)?;
                record.queues = queues;
                Ok(record)
            })
            .collect()
    }

    /// The outbound calls that started in `period` (calls placed out, and calls of any
    /// direction that reached the outbound routes), oldest first, as the few columns the
    /// outbound metrics read (`crossbar_cdr::metrics::outbound`); with their trunk legs if
    /// `legs` says so.
    pub async fn outbound_calls(
        &self,
        period: Period,
        legs: TrunkLegs,
    ) -> Result<Vec<OutboundCall>, StoreError> {
        const OP: &str = "read outbound calls";
        let legs_column = match legs {
            TrunkLegs::Include => "legs",
            TrunkLegs::Omit => "NULL AS legs",
        };
        let rows: Vec<OutboundRow> = on_pool!(self, pool => {
            let mut qb = sqlx::QueryBuilder::new(format!(
                "SELECT started_at_ms, caller_number, disposition, disposition_detail, \
                 talk_secs, destination_class, trunk_attempts, pdd_ms, cost_micros, \
                 {legs_column} FROM calls WHERE {OUTBOUND_CALLS}"
            ));
            if let Some(since) = period.since_ms {
                qb.push(" AND started_at_ms >= ").push_bind(since);
            }
            if let Some(until) = period.until_ms {
                qb.push(" AND started_at_ms < ").push_bind(until);
            }
            qb.push(" ORDER BY started_at_ms");
            qb.build_query_as()
                .fetch_all(pool)
                .await
                .map_err(db(OP))?
        });
        rows.into_iter().map(|r| r.into_call(OP)).collect()
    }

    /// The received calls of `period`, oldest first, as the few columns the inbound metrics
    /// read (`crossbar_cdr::metrics::inbound`): the calls from trunks (direction `inbound`),
    /// or with `received` every call received (`inbound` and `internal`).
    ///
    /// Besides the calls that started in the period, it returns those that started up to
    /// [`CARRIED_IN_LOOKBACK_MS`] (a day) before it and were still up when it began: the
    /// metrics count them for concurrency only. One range of the `(direction,
    /// started_at_ms)` index is read.
    pub async fn inbound_calls(
        &self,
        period: Period,
        received: bool,
    ) -> Result<Vec<InboundCall>, StoreError> {
        const OP: &str = "read inbound calls";
        let directions = if received {
            "direction IN ('inbound', 'internal')"
        } else {
            "direction = 'inbound'"
        };
        let rows: Vec<InboundRow> = on_pool!(self, pool => {
            let mut qb = sqlx::QueryBuilder::new(format!(
                "SELECT started_at_ms, answered_at_ms, ended_at_ms, disposition, \
                 abandoned_stage, queue_wait_secs, did, inbound_route, reached_group \
                 FROM calls WHERE {directions}"
            ));
            if let Some(since) = period.since_ms {
                qb.push(" AND started_at_ms >= ")
                    .push_bind(since.saturating_sub(CARRIED_IN_LOOKBACK_MS))
                    .push(" AND (started_at_ms >= ")
                    .push_bind(since)
                    .push(" OR ended_at_ms > ")
                    .push_bind(since)
                    .push(")");
            }
            if let Some(until) = period.until_ms {
                qb.push(" AND started_at_ms < ").push_bind(until);
            }
            qb.push(" ORDER BY started_at_ms");
            qb.build_query_as()
                .fetch_all(pool)
                .await
                .map_err(db(OP))?
        });
        rows.into_iter().map(|r| r.into_call(OP)).collect()
    }

    /// The queue visits that began in `period` (by the time the caller joined, or was turned
    /// away), of every queue or of `queue`, oldest first, as the queue report reads them
    /// (`crossbar_cdr::metrics::queues`): each with its call's talk time if it is the visit an
    /// agent answered. Read from the `(queue, joined_at_ms)` or `(joined_at_ms)` index.
    pub async fn queue_calls(
        &self,
        period: Period,
        queue: Option<&str>,
    ) -> Result<Vec<QueueCall>, StoreError> {
        const OP: &str = "read queue calls";
        let rows: Vec<QueueCallRow> = on_pool!(self, pool => {
            let mut qb = sqlx::QueryBuilder::new(
                "SELECT q.queue, q.joined_at_ms, q.position, q.wait_ms, q.outcome, q.agent, \
                 CASE WHEN q.outcome = 'answered' THEN c.talk_secs ELSE 0 END AS talk_secs \
                 FROM call_queues q JOIN calls c ON c.id = q.call_id WHERE 1 = 1",
            );
            if let Some(queue) = queue {
                qb.push(" AND q.queue = ").push_bind(queue);
            }
            if let Some(since) = period.since_ms {
                qb.push(" AND q.joined_at_ms >= ").push_bind(since);
            }
            if let Some(until) = period.until_ms {
                qb.push(" AND q.joined_at_ms < ").push_bind(until);
            }
            qb.push(" ORDER BY q.joined_at_ms, q.call_id, q.ord");
            qb.build_query_as()
                .fetch_all(pool)
                .await
                .map_err(db(OP))?
        });
        rows.into_iter().map(|r| r.into_call(OP)).collect()
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
