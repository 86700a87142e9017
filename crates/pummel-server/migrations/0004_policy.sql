-- Safe to share: the networks each user may reach beyond the public ones,
-- the hosts they proved they own, and their quotas. Keyed by the owner's
-- name (a token's owner, or a user), so either identity joins. Types and
-- SQL kept to what SQLite and PostgreSQL both accept.
CREATE TABLE allowed_networks (
    owner TEXT NOT NULL,
    cidr TEXT NOT NULL,
    created_at BIGINT NOT NULL,
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
    created_at BIGINT NOT NULL,
    verified_at BIGINT,
    PRIMARY KEY (owner, host)
);

CREATE TABLE quotas (
    owner TEXT PRIMARY KEY,
    concurrent_jobs BIGINT,
    agents_per_job BIGINT,
    max_vus BIGINT,
    max_rate DOUBLE PRECISION,
    max_duration_ms BIGINT,
    runs_per_day BIGINT,
    report_storage BIGINT,
    allow_runners BIGINT NOT NULL DEFAULT 0
);
