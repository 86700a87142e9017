-- pummel server store, first version. Every run is a row (the service's
-- queue extends this table later); every token has a named owner.
CREATE TABLE tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('agent', 'client', 'admin')),
    hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE agents (
    name TEXT PRIMARY KEY,
    labels TEXT NOT NULL,
    version TEXT NOT NULL,
    cores INTEGER NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    last_seen INTEGER NOT NULL
);

CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    plan TEXT NOT NULL,
    agents TEXT NOT NULL DEFAULT '[]',
    result TEXT,
    exit_code INTEGER,
    message TEXT
);

-- One agent's one second of one run: idempotent by its key, so a resend
-- after a reconnect never counts twice.
CREATE TABLE snapshots (
    run TEXT NOT NULL REFERENCES runs (id),
    agent TEXT NOT NULL,
    second INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (run, agent, second)
);
