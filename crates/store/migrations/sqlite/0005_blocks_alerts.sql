-- Extension blocks and alerts (class-of-service fraud caps). Times are unix milliseconds.
--
-- A block stops an extension's outbound calls until an administrator releases it. Each row
-- is one block, kept after its release as history; `released_at_ms` and `released_by` are
-- NULL while it is in force, and an extension has at most one block in force (the partial
-- unique index, which is also what the engine's periodic "which extensions are blocked?"
-- query reads).
CREATE TABLE extension_blocks (
    id             INTEGER NOT NULL PRIMARY KEY,
    extension      TEXT    NOT NULL CHECK (extension <> ''),
    blocked_at_ms  INTEGER NOT NULL,
    reason         TEXT    NOT NULL CHECK (reason <> ''),
    released_at_ms INTEGER,
    released_by    TEXT    CHECK (released_by IS NULL OR released_by <> ''),
    CHECK ((released_at_ms IS NULL) = (released_by IS NULL)),
    CHECK (released_at_ms IS NULL OR released_at_ms >= blocked_at_ms)
);

CREATE UNIQUE INDEX extension_blocks_in_force ON extension_blocks (extension)
    WHERE released_at_ms IS NULL;
CREATE INDEX extension_blocks_history ON extension_blocks (extension, blocked_at_ms);

-- Something an administrator should look at: `kind` says what (`fraud_cap`, `trunk_down`,
-- ...; no CHECK, so a new kind needs no migration), `subject` what about
-- (`extension:201`, `trunk:carrier-a`). Acknowledgement fields are NULL until someone
-- acknowledges it. Listed newest first.
CREATE TABLE alerts (
    id                 INTEGER NOT NULL PRIMARY KEY,
    raised_at_ms       INTEGER NOT NULL,
    kind               TEXT    NOT NULL CHECK (kind <> ''),
    subject            TEXT    NOT NULL CHECK (subject <> ''),
    message            TEXT    NOT NULL,
    acknowledged_at_ms INTEGER,
    acknowledged_by    TEXT    CHECK (acknowledged_by IS NULL OR acknowledged_by <> ''),
    CHECK ((acknowledged_at_ms IS NULL) = (acknowledged_by IS NULL))
);

CREATE INDEX alerts_raised_at ON alerts (raised_at_ms, id);
