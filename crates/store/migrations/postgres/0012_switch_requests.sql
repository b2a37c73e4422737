-- Requests to the running engine from outside it (issue 9): the API and `crossbar agent ...`
-- (a separate process) cannot reach the switch, so they insert a row here; the engine takes
-- the pending rows in `id` order (every ~300 ms, at once when the API runs in its process),
-- applies each to the switch and writes its outcome back. Times are unix milliseconds.
--
-- `kind` and `arguments` (a JSON object) say what to do:
--   agent_login    {"agent": "201", "queue": "support" | null, "penalty": 2 | null}
--   agent_logout   {"agent": "201", "queue": "support" | null}
--   agent_pause    {"agent": "201", "reason": "lunch" | null}
--   agent_unpause  {"agent": "201"}
--   callback_dial  {"task": 12, "agent": "201"}  (reserved: originate a callback task's call)
-- A kind the engine does not know is finished `invalid`, never left pending.
--
-- Life of a row: pending (`taken_at_ms` NULL) → taken by one engine (`taken_at_ms`,
-- `taken_by`: which node) → done (`done_at_ms`, `outcome`, and `result` — JSON, e.g. the
-- agent's new state — or `error`, for people). A row not taken by `expires_at_ms` is finished
-- `expired` (so a login asked for while crossbar was down is not applied hours later); a row
-- taken but never finished (crossbar stopped in between) is finished `failed` at the next
-- start.
CREATE TABLE switch_requests (
    -- Identity: ids are never reused, even after old rows are pruned (callers keep them).
    id              BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            TEXT    NOT NULL CHECK (kind <> ''),
    arguments       TEXT    NOT NULL,
    requested_at_ms BIGINT  NOT NULL,
    -- `token:NAME` through the API, `cli:USER` from the command line.
    requested_by    TEXT    NOT NULL CHECK (requested_by <> ''),
    expires_at_ms   BIGINT  NOT NULL,
    taken_at_ms     BIGINT,
    taken_by        TEXT,
    done_at_ms      BIGINT,
    -- done: applied; refused: the switch's state does not allow it (not logged in...);
    -- invalid: it can never be applied (no such queue, unknown kind); expired; failed.
    outcome         TEXT    CHECK (outcome IS NULL OR outcome IN ('done', 'refused', 'invalid',
                        'expired', 'failed')),
    result          TEXT,
    error           TEXT,
    CHECK (taken_at_ms IS NOT NULL OR done_at_ms IS NULL),
    CHECK ((done_at_ms IS NULL) = (outcome IS NULL))
);

-- The pending rows, oldest first: what the engine polls.
CREATE INDEX switch_requests_pending ON switch_requests (id) WHERE taken_at_ms IS NULL;
