-- pummel server store, first version. The same text runs on SQLite and on
-- PostgreSQL: integers are BIGINT (booleans 0/1), everything else TEXT.
-- Every run is a row; every token has a named owner.
CREATE TABLE tokens (
    hash TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('agent', 'client', 'admin')),
    created_at BIGINT NOT NULL
);

CREATE TABLE agents (
    name TEXT PRIMARY KEY,
    labels TEXT NOT NULL,
    version TEXT NOT NULL,
    cores BIGINT NOT NULL,
    disabled BIGINT NOT NULL DEFAULT 0,
    last_seen BIGINT NOT NULL
);

CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    plan TEXT NOT NULL,
    agents TEXT NOT NULL DEFAULT '[]',
    result TEXT,
    exit_code BIGINT,
    message TEXT
);

CREATE INDEX runs_by_created ON runs (created_at, id);

-- One agent's one second of one run: idempotent by its key, so a resend
-- after a reconnect never counts twice.
CREATE TABLE snapshots (
    run TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    agent TEXT NOT NULL,
    second BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (run, agent, second)
);
