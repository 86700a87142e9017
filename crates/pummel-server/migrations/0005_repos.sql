-- Test repositories, the runs they started and who gets told when a run
-- ends. Secrets (credentials, webhook secrets) are sealed by the server's
-- key (see src/sealed.rs), kept as base64 text: the database alone does
-- not reveal them. The same text serves SQLite and PostgreSQL.
CREATE TABLE repositories (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    -- Registered by an admin: its URL and notification targets may be on
    -- networks the outbound policy refuses to other users.
    trusted BIGINT NOT NULL DEFAULT 0,
    url TEXT NOT NULL,
    branch TEXT NOT NULL,
    credential_kind TEXT CHECK (credential_kind IN ('token', 'deploy_key')),
    credential TEXT,
    webhook_secret TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    pulled_at BIGINT,
    commit_id TEXT,
    pull_error TEXT,
    -- JSON: the tests pummel.yml lists, and the problems found in it and
    -- in its scenario files (each with file:line:col).
    tests TEXT NOT NULL DEFAULT '[]',
    problems TEXT NOT NULL DEFAULT '[]'
);

CREATE TABLE repository_runs (
    run TEXT PRIMARY KEY,
    repository TEXT NOT NULL,
    test TEXT NOT NULL,
    commit_id TEXT,
    trigger TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Per-user notification targets, keyed by the owner's name.
CREATE TABLE notification_settings (
    owner TEXT PRIMARY KEY,
    -- JSON: {"email": [...], "webhooks": [{"url": ..., "events": ...}]}
    targets TEXT NOT NULL,
    trusted BIGINT NOT NULL DEFAULT 0,
    -- Sealed: the secret the user's webhooks are signed with.
    webhook_secret TEXT
);
