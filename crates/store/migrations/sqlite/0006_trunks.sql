-- Trunks (SIP trunks to carriers): the latest status of each, and the log of its changes.
-- The switch reports every change of a trunk's registration or health; the server writes it
-- here (`Store::record_trunk_status`), so `crossbar trunks` and `GET /api/trunks` show what the
-- running crossbar knows, and the route simulator skips the trunks that are down. Times are
-- unix milliseconds.
--
-- `registration` is `registered`, `registering`, `failed` or `unregistered` (NULL: the trunk
-- does not register); `health` is `up`, `down`, `unknown` or `unchecked`. The words are the
-- switch's; they are not CHECKed here, so a new one needs no migration.

-- One row per trunk: its latest status (upserted; an older report never replaces a newer).
CREATE TABLE trunk_status (
    trunk               TEXT    NOT NULL PRIMARY KEY CHECK (trunk <> ''),
    at_ms               INTEGER NOT NULL,
    change              TEXT    NOT NULL,
    registration        TEXT    CHECK (registration IS NULL OR registration <> ''),
    registered_until_ms INTEGER,
    health              TEXT    NOT NULL CHECK (health <> ''),
    health_since_ms     INTEGER,
    last_failure        TEXT,
    last_failure_at_ms  INTEGER
) WITHOUT ROWID;

-- Every change, appended with the status it led to. Kept 30 days: each append removes the
-- events older than 30 days before it (through `trunk_events_at`, so it costs nothing when
-- there are none). Listed newest first, for every trunk or for one.
CREATE TABLE trunk_events (
    id           INTEGER NOT NULL PRIMARY KEY,
    trunk        TEXT    NOT NULL CHECK (trunk <> ''),
    at_ms        INTEGER NOT NULL,
    change       TEXT    NOT NULL,
    health       TEXT    NOT NULL CHECK (health <> ''),
    registration TEXT    CHECK (registration IS NULL OR registration <> '')
);

CREATE INDEX trunk_events_at ON trunk_events (at_ms, id);
CREATE INDEX trunk_events_trunk ON trunk_events (trunk, at_ms, id);
