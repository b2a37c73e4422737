-- Inbound calls (DESIGN.md §1–2): where a call from a trunk came in and the path it took.
--
-- `inbound_trunk`, `did` and `vip` are set together for calls from a trunk and NULL for
-- the others (`inbound_route` and `language` may be NULL either way). `abandoned_stage` is
-- where the caller hung up on an `abandoned` call (`ivr`, `queue`). `path` is the route
-- path (time conditions, menus and keys, groups, escalations) as JSON text, like `legs` and
-- `timeline`: shown, never filtered on; `[]` for calls without one (and for the records
-- written before this migration).
--
-- `reached_group` is what reports ask of the path: the ring group the call reached last —
-- the name of the last `group` step of `path` (crossbar_cdr::metrics::inbound::
-- reached_group), written with the record. A call that escalated from one group to another
-- is the second's; NULL when the call reached no group.
ALTER TABLE calls ADD COLUMN inbound_trunk TEXT;
ALTER TABLE calls ADD COLUMN did TEXT;
ALTER TABLE calls ADD COLUMN inbound_route TEXT;
-- SQLite cannot add a table constraint: the all-or-nothing rule rides on `vip`.
ALTER TABLE calls ADD COLUMN vip INTEGER CHECK (
    (inbound_trunk IS NULL AND did IS NULL AND vip IS NULL)
    OR (inbound_trunk IS NOT NULL AND did IS NOT NULL AND vip IN (0, 1)));
ALTER TABLE calls ADD COLUMN language TEXT;
ALTER TABLE calls ADD COLUMN abandoned_stage TEXT CHECK (abandoned_stage IS NULL OR
    abandoned_stage IN ('ringing', 'ivr', 'queue'));
ALTER TABLE calls ADD COLUMN path TEXT NOT NULL DEFAULT '[]';
ALTER TABLE calls ADD COLUMN reached_group TEXT;

-- What inbound reports and listings narrow or group by, each ending with the sort key.
-- Partial: only the calls that have the key are in them. The period of a report is read
-- from `calls_direction` (direction, started_at_ms).
CREATE INDEX calls_did ON calls (did, started_at_ms) WHERE did IS NOT NULL;
CREATE INDEX calls_inbound_route ON calls (inbound_route, started_at_ms)
    WHERE inbound_route IS NOT NULL;
CREATE INDEX calls_reached_group ON calls (reached_group, started_at_ms)
    WHERE reached_group IS NOT NULL;
