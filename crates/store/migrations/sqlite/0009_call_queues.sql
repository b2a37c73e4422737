-- Queue visits (DESIGN.md §1–2, issue 9): each queue a call entered — or was turned away
-- from at the door (`full`, `empty`) — in order, written with the call's record in the same
-- transaction and read back into `CallRecord.queues`. A call that overflowed from one queue
-- to another has two rows. Times are unix milliseconds.
--
-- `ord` is the visit's place in the record (0, 1, ...). `position` is the caller's place in
-- line on joining (1: next to be served), NULL when turned away. `wait_ms` is joined → left
-- (answered, gave up, overflowed). `offered` is the agents offered the caller, in order, one
-- entry per offer, as a JSON array of extension numbers (shown, never filtered on, like
-- `calls.legs`). `agent` is the agent who answered.
--
-- Queue reports read a period of one queue or of all of them by `joined_at_ms`; the
-- per-agent figures read the visits an agent answered.
CREATE TABLE call_queues (
    call_id      TEXT    NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    ord          INTEGER NOT NULL CHECK (ord >= 0),
    queue        TEXT    NOT NULL CHECK (queue <> ''),
    joined_at_ms INTEGER NOT NULL,
    position     INTEGER CHECK (position IS NULL OR position >= 1),
    wait_ms      INTEGER NOT NULL CHECK (wait_ms >= 0),
    offered      TEXT    NOT NULL DEFAULT '[]',
    outcome      TEXT    NOT NULL CHECK (outcome IN ('answered', 'abandoned', 'timeout',
                     'full', 'empty', 'breakout', 'callback')),
    agent        TEXT    CHECK (agent IS NULL OR agent <> ''),
    PRIMARY KEY (call_id, ord)
) WITHOUT ROWID;

CREATE INDEX call_queues_queue ON call_queues (queue, joined_at_ms);
CREATE INDEX call_queues_joined_at ON call_queues (joined_at_ms);
CREATE INDEX call_queues_agent ON call_queues (agent, joined_at_ms) WHERE agent IS NOT NULL;
