-- Registrar bindings (RFC 3261 §10.3): one row per (address-of-record, Contact URI).
-- Times are unix seconds; `q` is the qvalue in thousandths (q=0.7 is 700).
CREATE TABLE bindings (
    aor        TEXT    NOT NULL CHECK (aor <> ''),
    contact    TEXT    NOT NULL CHECK (contact <> ''),
    expires_at BIGINT  NOT NULL,
    q          INTEGER          CHECK (q IS NULL OR (q >= 0 AND q <= 1000)),
    call_id    TEXT    NOT NULL,
    cseq       BIGINT  NOT NULL CHECK (cseq >= 0 AND cseq <= 4294967295),
    source     TEXT    NOT NULL,
    user_agent TEXT,
    instance   TEXT,
    reg_id     BIGINT           CHECK (reg_id IS NULL OR (reg_id >= 0 AND reg_id <= 4294967295)),
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (aor, contact)
);

-- live_bindings / purge_expired scan by expiry.
CREATE INDEX bindings_expires_at ON bindings (expires_at);
