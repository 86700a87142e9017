-- The same text runs on SQLite and PostgreSQL (BIGINT integers, TEXT).
-- Users of the web service: local accounts with argon2id password hashes,
-- their sign-in sessions (kept as hashes of the cookie's value, with the
-- session's CSRF token), and API tokens that belong to them (rows of
-- `tokens` with a label, owned by the user's name).
CREATE TABLE users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('admin', 'user')),
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    hash TEXT PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX sessions_by_user ON sessions (user_name);

-- A user's API token is named on their profile page; tokens made by
-- `pummel server token create` have none.
ALTER TABLE tokens ADD COLUMN label TEXT;

-- The runs list pages by time, newest first, per owner or for everyone.
CREATE INDEX runs_by_time ON runs (created_at DESC, id DESC);
CREATE INDEX runs_by_owner_time ON runs (owner, created_at DESC, id DESC);
