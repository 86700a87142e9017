-- The job queue: a job is a run request kept until it has run. `seq` is the
-- submission order; a job is claimed (queued -> running) by one conditional
-- UPDATE holding a lease that the server renews while the run lasts, so a
-- job is never started twice; a server that restarts finds its running jobs
-- (their leases dead with it) and marks them interrupted, runs included.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    seq BIGINT NOT NULL UNIQUE,
    owner TEXT NOT NULL,
    -- cli, api, web, repo, schedule
    source TEXT NOT NULL,
    -- A name runs are grouped by (history, trends, retention); may be empty.
    test TEXT NOT NULL DEFAULT '',
    -- The run request (plan, agents wanted, labels, on agent loss), JSON.
    spec TEXT NOT NULL,
    -- queued, running, passed, failed, error, cancelled, interrupted
    state TEXT NOT NULL,
    run_id TEXT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT,
    lease_owner TEXT,
    lease_until BIGINT,
    exit_code BIGINT,
    message TEXT
);

CREATE INDEX jobs_by_state ON jobs (state, seq);
CREATE INDEX jobs_by_test ON jobs (test, created_at);
