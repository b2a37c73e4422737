-- Call records (DESIGN.md §1): one row per finished call, and one per call in progress so
-- that a crash (kill -9) leaves evidence to turn into an `interrupted` record at the next
-- start. Times are unix milliseconds; timings are whole seconds. Legs and the timeline are
-- JSON text (crossbar-cdr's serde form): they are shown, never filtered on.
CREATE TABLE calls (
    id                 TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
    sip_call_id        TEXT    NOT NULL,
    direction          TEXT    NOT NULL CHECK (direction IN ('inbound', 'outbound', 'internal')),
    caller_number      TEXT    NOT NULL,
    caller_name        TEXT,
    callee_number      TEXT    NOT NULL,
    callee_name        TEXT,
    started_at_ms      BIGINT  NOT NULL,
    answered_at_ms     BIGINT,
    ended_at_ms        BIGINT  NOT NULL,
    disposition        TEXT    NOT NULL CHECK (disposition IN ('answered', 'voicemail',
                           'no_answer', 'busy', 'rejected', 'cancelled', 'abandoned', 'failed',
                           'denied')),
    disposition_detail TEXT,
    sip_status         INTEGER CHECK (sip_status IS NULL OR (sip_status >= 100 AND sip_status <= 699)),
    hangup_by          TEXT    NOT NULL CHECK (hangup_by IN ('caller', 'callee', 'system')),
    answered_by        TEXT,
    wait_secs          BIGINT  CHECK (wait_secs IS NULL OR wait_secs >= 0),
    ring_secs          BIGINT  NOT NULL CHECK (ring_secs >= 0),
    talk_secs          BIGINT  NOT NULL CHECK (talk_secs >= 0),
    hold_secs          BIGINT  NOT NULL CHECK (hold_secs >= 0),
    queue_wait_secs    BIGINT  NOT NULL CHECK (queue_wait_secs >= 0),
    interrupted        BOOLEAN NOT NULL,
    legs               TEXT    NOT NULL,
    timeline           TEXT    NOT NULL
);

-- Every listing is newest first, optionally narrowed by one of these columns: each index
-- ends with the sort key so a filtered page is read in order.
CREATE INDEX calls_started_at ON calls (started_at_ms, id);
CREATE INDEX calls_direction ON calls (direction, started_at_ms);
CREATE INDEX calls_disposition ON calls (disposition, started_at_ms);
CREATE INDEX calls_caller_number ON calls (caller_number, started_at_ms);
CREATE INDEX calls_callee_number ON calls (callee_number, started_at_ms);
CREATE INDEX calls_answered_by ON calls (answered_by, started_at_ms);

-- Calls in progress: written when a call starts, updated when it is answered, and refreshed
-- (`last_seen_at_ms`) while crossbar runs; deleted in the transaction that writes the record.
CREATE TABLE active_calls (
    id              TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
    sip_call_id     TEXT    NOT NULL,
    direction       TEXT    NOT NULL CHECK (direction IN ('inbound', 'outbound', 'internal')),
    caller_number   TEXT    NOT NULL,
    caller_name     TEXT,
    callee_number   TEXT    NOT NULL,
    callee_name     TEXT,
    started_at_ms   BIGINT  NOT NULL,
    answered_at_ms  BIGINT,
    answered_by     TEXT,
    last_seen_at_ms BIGINT  NOT NULL
);
