-- Small key/value store for server secrets (e.g. the digest nonce key).
CREATE TABLE secrets (
    name  TEXT  NOT NULL PRIMARY KEY CHECK (name <> ''),
    value BYTEA NOT NULL
);
