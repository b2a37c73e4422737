-- What steers incoming calls besides the configuration, changed while crossbar runs: by
-- administrators (through the API or the command line) and by the engine itself. Kept here
-- so it survives a restart and is shared by the nodes of one database; the running engine
-- re-reads these tables every 2 seconds. Times are unix milliseconds; `set_by` and
-- `added_by` say who (`token:NAME` through the API, `cli:USER` from the command line).

-- A `[[time_condition]]` (by name) forced `open` or `closed` whatever its schedule, until
-- the override is cleared (the row deleted: back to the schedule). Names are not checked
-- against the configuration here: an override of a time condition that is no longer
-- configured is simply never read.
CREATE TABLE time_condition_overrides (
    name      TEXT    NOT NULL PRIMARY KEY CHECK (name <> ''),
    forced    TEXT    NOT NULL CHECK (forced IN ('open', 'closed')),
    set_at_ms INTEGER NOT NULL,
    set_by    TEXT    NOT NULL CHECK (set_by <> '')
);

-- Callers refused before any inbound route, in addition to `[inbound] blocklist`: an E.164
-- number (`+442079460000`), a prefix (`+4420794600*`) or a range
-- (`+442079460000-+442079460099`), in the form crossbar_config::NumberPattern prints.
CREATE TABLE caller_blocklist (
    pattern     TEXT    NOT NULL PRIMARY KEY CHECK (pattern LIKE '+%'),
    added_at_ms INTEGER NOT NULL,
    added_by    TEXT    NOT NULL CHECK (added_by <> ''),
    note        TEXT
);

-- Where each `round_robin` `[[ring_group]]` starts next time: the index, in the group's
-- member list, of the member to ring first (the engine wraps it to the list's length, so a
-- shortened list needs no migration of this table).
CREATE TABLE ring_group_positions (
    name          TEXT    NOT NULL PRIMARY KEY CHECK (name <> ''),
    next          INTEGER NOT NULL CHECK (next >= 0),
    updated_at_ms INTEGER NOT NULL
);
