-- Callback tasks (DESIGN.md §2 "callback", issue 9): every missed inbound call from an outside
-- number opens a task to call that number back — one open task per number, a second miss
-- adds to it — and a later answered call with the number, either direction, completes it.
-- The rules are crossbar_cdr::callbacks'; they are applied in the transaction that writes
-- the call's record. Times are unix milliseconds.
--
-- `state`: `open`, `completed` (an answered call with the number: `completed_by_call`),
-- `cancelled` (by hand: `closed_by` says who) or `unreached` (`[callbacks] max_attempts`
-- unanswered attempts). `closed_at_ms` is when it stopped being open (for a completed task:
-- the answer of the call that completed it). `opened_at_ms` is the first miss — when the
-- first missed call ended — and `last_miss_at_ms` the latest; `did` and `queue` are the first
-- miss's. A task is assigned to an agent or a queue, or to nobody. `next_attempt_at_ms` is
-- when crossbar tries again by itself (`[callbacks] retry_schedule_secs`), NULL when only by
-- hand.
CREATE TABLE callback_tasks (
    id                 INTEGER NOT NULL PRIMARY KEY,
    number             TEXT    NOT NULL CHECK (number <> ''),
    did                TEXT,
    queue              TEXT,
    state              TEXT    NOT NULL CHECK (state IN ('open', 'completed', 'cancelled',
                           'unreached')),
    opened_at_ms       INTEGER NOT NULL,
    last_miss_at_ms    INTEGER NOT NULL,
    misses             INTEGER NOT NULL CHECK (misses >= 1),
    assigned_agent     TEXT    CHECK (assigned_agent IS NULL OR assigned_agent <> ''),
    assigned_queue     TEXT    CHECK (assigned_queue IS NULL OR assigned_queue <> ''),
    attempts           INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at_ms INTEGER,
    closed_at_ms       INTEGER,
    completed_by_call  TEXT,
    closed_by          TEXT    CHECK (closed_by IS NULL OR closed_by <> ''),
    CHECK (assigned_agent IS NULL OR assigned_queue IS NULL),
    CHECK ((state = 'open') = (closed_at_ms IS NULL)),
    CHECK ((state = 'completed') = (completed_by_call IS NOT NULL)),
    CHECK (state = 'open' OR next_attempt_at_ms IS NULL)
);

-- One open task per number; what a finished call's rules look up.
CREATE UNIQUE INDEX callback_tasks_open ON callback_tasks (number) WHERE state = 'open';
-- Listings (newest first, by state) and the report's period (by first miss).
CREATE INDEX callback_tasks_opened_at ON callback_tasks (opened_at_ms, id);
CREATE INDEX callback_tasks_state ON callback_tasks (state, opened_at_ms);
-- The tasks due for an automatic attempt.
CREATE INDEX callback_tasks_due ON callback_tasks (next_attempt_at_ms)
    WHERE state = 'open' AND next_attempt_at_ms IS NOT NULL;

-- Each missed call of a task: when it ended, how, and where it came in.
CREATE TABLE callback_misses (
    task_id     INTEGER NOT NULL REFERENCES callback_tasks (id) ON DELETE CASCADE,
    call_id     TEXT    NOT NULL CHECK (call_id <> ''),
    at_ms       INTEGER NOT NULL,
    disposition TEXT    NOT NULL,
    did         TEXT,
    queue       TEXT,
    PRIMARY KEY (task_id, call_id)
);

-- Each callback attempt: the outbound call placed for the task, when, by which agent, and
-- its disposition (`answered`, `no_answer`, `busy`...).
CREATE TABLE callback_attempts (
    task_id INTEGER NOT NULL REFERENCES callback_tasks (id) ON DELETE CASCADE,
    call_id TEXT    NOT NULL CHECK (call_id <> ''),
    at_ms   INTEGER NOT NULL,
    agent   TEXT    CHECK (agent IS NULL OR agent <> ''),
    result  TEXT    NOT NULL CHECK (result IN ('answered', 'voicemail', 'no_answer', 'busy',
                'rejected', 'cancelled', 'abandoned', 'failed', 'denied')),
    PRIMARY KEY (task_id, call_id)
);
