-- Places kept in a queue's line for callers waiting for a callback (virtual hold), so they
-- survive a restart (crate::held): written when a caller takes the callback offer, deleted
-- when the place is given up; read back at start for the callers whose task is still open.
CREATE TABLE queue_held (
    call_id      TEXT PRIMARY KEY,
    queue        TEXT NOT NULL,
    customer     TEXT NOT NULL,
    did          TEXT,
    vip          INTEGER NOT NULL CHECK (vip IN (0, 1)),
    joined_at_ms INTEGER NOT NULL
);
