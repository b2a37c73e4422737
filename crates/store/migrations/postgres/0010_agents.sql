-- Queue agents (issue 9): what must survive a restart, and the log reports read. Times are
-- unix milliseconds. The switch's queue machine is the source of truth while crossbar runs;
-- it writes each change here with the event that caused it, in one transaction
-- (`Store::apply_agent_updates`), and reads the state back at start.

-- An agent's place in a queue: a static member (`[[queue]] members`, kept when it logs out)
-- or a dynamic one (logged in to a queue it is not a member of; its row is deleted when it
-- logs out), its penalty (tier) there, whether it is logged in to the queue, and since when
-- this row says so.
CREATE TABLE queue_agents (
    agent         TEXT    NOT NULL CHECK (agent <> ''),
    queue         TEXT    NOT NULL CHECK (queue <> ''),
    static_member BOOLEAN NOT NULL,
    penalty       BIGINT  NOT NULL CHECK (penalty >= 0),
    logged_in     BOOLEAN NOT NULL,
    since_ms      BIGINT  NOT NULL,
    PRIMARY KEY (agent, queue)
);

-- The agents paused now: a pause is the agent's, whatever the queue. `reason` is one of
-- `[agents] pause_reasons`, `auto:unanswered` (the queue's `auto_pause_after`), or NULL (the
-- pause code alone). The row is deleted when the pause ends.
CREATE TABLE agent_pauses (
    agent    TEXT    NOT NULL PRIMARY KEY CHECK (agent <> ''),
    reason   TEXT    CHECK (reason IS NULL OR reason <> ''),
    since_ms BIGINT  NOT NULL
);

-- The agent event log (crossbar_cdr::agent): appended, never changed; kept for the reports.
-- `queue` is NULL for the agent as a whole; `reason` only for a pause; `call_id` names the
-- caller's call of an offer, answer, miss or call end.
CREATE TABLE agent_events (
    id      BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at_ms   BIGINT  NOT NULL,
    agent   TEXT    NOT NULL CHECK (agent <> ''),
    queue   TEXT    CHECK (queue IS NULL OR queue <> ''),
    kind    TEXT    NOT NULL CHECK (kind IN ('login', 'logout', 'pause', 'unpause', 'offered',
                'answered', 'missed', 'call_end', 'wrap_up_start', 'wrap_up_end')),
    reason  TEXT    CHECK (reason IS NULL OR (kind = 'pause' AND reason <> '')),
    call_id TEXT    CHECK (call_id IS NULL OR call_id <> '')
);

-- A period of the log, of every agent or of one, in order.
CREATE INDEX agent_events_at ON agent_events (at_ms, id);
CREATE INDEX agent_events_agent ON agent_events (agent, at_ms, id);
-- What each agent was when a report's period begins: its last login or logout per queue,
-- pause or unpause, wrap-up start or end before it.
CREATE INDEX agent_events_state ON agent_events (agent, queue, at_ms)
    WHERE kind IN ('login', 'logout', 'pause', 'unpause', 'wrap_up_start', 'wrap_up_end');

-- Where each `round_robin` `[[queue]]` starts next time: the index, in the queue's member
-- order, of the agent to offer first (the queue machine wraps it to the number of members),
-- like `ring_group_positions`.
CREATE TABLE queue_positions (
    name          TEXT    NOT NULL PRIMARY KEY CHECK (name <> ''),
    next          BIGINT  NOT NULL CHECK (next >= 0),
    updated_at_ms BIGINT  NOT NULL
);
