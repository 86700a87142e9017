-- Safe to share: the networks each user may reach beyond the public ones,
-- the hosts they proved they own, and their quotas. Keyed by the owner's
-- name (a token's owner, or a user), so either identity joins.
CREATE TABLE allowed_networks (
    owner TEXT NOT NULL,
    cidr TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (owner, cidr)
);

CREATE TABLE host_claims (
    owner TEXT NOT NULL,
    host TEXT NOT NULL,
    -- Where the challenge is fetched: the host, with the port it was
    -- claimed with when not the scheme's default.
    authority TEXT NOT NULL,
    challenge_id TEXT NOT NULL,
    token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    verified_at INTEGER,
    PRIMARY KEY (owner, host)
);

CREATE TABLE quotas (
    owner TEXT PRIMARY KEY,
    concurrent_jobs INTEGER,
    agents_per_job INTEGER,
    max_vus INTEGER,
    max_rate REAL,
    max_duration_ms INTEGER,
    runs_per_day INTEGER,
    report_storage INTEGER,
    allow_runners INTEGER NOT NULL DEFAULT 0
);
