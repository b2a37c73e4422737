-- Outbound calls (DESIGN.md §1–2): how a call that reached the outbound routes was routed,
-- which trunk carried it and what it cost. NULL for calls that never reached the outbound
-- routes; for those that did, the number, its class, the trunk attempts and the cost are
-- all set (cost 0 when unanswered). Money is in integer millionths of the site's currency.
ALTER TABLE calls ADD COLUMN dialled TEXT;
ALTER TABLE calls ADD COLUMN normalized_number TEXT;
ALTER TABLE calls ADD COLUMN destination_class TEXT CHECK (destination_class IS NULL OR
    destination_class IN ('emergency', 'internal', 'local', 'national', 'mobile', 'toll_free',
                          'premium', 'international'));
ALTER TABLE calls ADD COLUMN outbound_route TEXT;
ALTER TABLE calls ADD COLUMN caller_id TEXT;
-- The trunk of the leg that answered, else of the last trunk tried.
ALTER TABLE calls ADD COLUMN trunk TEXT;
-- Trunk legs tried (each failover adds one); 0 for a call denied or never sent to a trunk.
ALTER TABLE calls ADD COLUMN trunk_attempts BIGINT CHECK (trunk_attempts IS NULL OR trunk_attempts >= 0);
ALTER TABLE calls ADD COLUMN pdd_ms BIGINT CHECK (pdd_ms IS NULL OR pdd_ms >= 0);
ALTER TABLE calls ADD COLUMN cost_micros BIGINT;
ALTER TABLE calls ADD CONSTRAINT calls_outbound_whole CHECK (
    (dialled IS NULL AND normalized_number IS NULL AND destination_class IS NULL
        AND trunk_attempts IS NULL AND cost_micros IS NULL)
    OR (dialled IS NOT NULL AND normalized_number IS NOT NULL AND destination_class IS NOT NULL
        AND trunk_attempts IS NOT NULL AND cost_micros IS NOT NULL));

-- What outbound reports and listings narrow by, each ending with the sort key. Partial: only
-- outbound calls are in them, so they stay small on a site that mostly receives calls.
CREATE INDEX calls_outbound_started_at ON calls (started_at_ms)
    WHERE direction = 'outbound' OR destination_class IS NOT NULL;
CREATE INDEX calls_trunk ON calls (trunk, started_at_ms) WHERE trunk IS NOT NULL;
CREATE INDEX calls_destination_class ON calls (destination_class, started_at_ms)
    WHERE destination_class IS NOT NULL;

-- What finishing a call cut off by a crash needs to give it its outbound part and its cost:
-- the routing and trunk attempts as known when it was answered, the trunk of the leg that
-- answered and that leg's rate (the cost follows from the talk time up to the stop).
ALTER TABLE active_calls ADD COLUMN dialled TEXT;
ALTER TABLE active_calls ADD COLUMN normalized_number TEXT;
ALTER TABLE active_calls ADD COLUMN destination_class TEXT CHECK (destination_class IS NULL OR
    destination_class IN ('emergency', 'internal', 'local', 'national', 'mobile', 'toll_free',
                          'premium', 'international'));
ALTER TABLE active_calls ADD COLUMN outbound_route TEXT;
ALTER TABLE active_calls ADD COLUMN caller_id TEXT;
ALTER TABLE active_calls ADD COLUMN trunk TEXT;
ALTER TABLE active_calls ADD COLUMN trunk_attempts BIGINT CHECK (trunk_attempts IS NULL OR trunk_attempts >= 0);
ALTER TABLE active_calls ADD COLUMN pdd_ms BIGINT CHECK (pdd_ms IS NULL OR pdd_ms >= 0);
ALTER TABLE active_calls ADD COLUMN rate_per_minute_micros BIGINT;
ALTER TABLE active_calls ADD COLUMN rate_connection_fee_micros BIGINT;
-- The billing increment, `first/next` seconds (`60/60`, `30/6`, `1/1`).
ALTER TABLE active_calls ADD COLUMN rate_increment TEXT;

-- The last time crossbar knew every call in `active_calls` to be up: refreshed every second
-- or so while calls are up, one row whatever their number (updating every call's own row
-- would rewrite thousands of rows a second on a busy switch). A call lost in a crash ends
-- at the later of this and its own `last_seen_at_ms` (its start, or its answer).
CREATE TABLE active_calls_seen (
    id         INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    seen_at_ms BIGINT  NOT NULL
);
INSERT INTO active_calls_seen (id, seen_at_ms) VALUES (1, 0);
