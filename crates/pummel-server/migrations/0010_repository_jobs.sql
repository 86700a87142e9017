-- A repository's test, started through the queue: a job, whose run (once
-- the queue has started it) is the test's run. repository_runs keeps the
-- runs started directly, before tests went through the queue.
CREATE TABLE repository_jobs (
    job TEXT PRIMARY KEY,
    repository TEXT NOT NULL,
    test TEXT NOT NULL,
    commit_id TEXT,
    trigger TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX repository_jobs_by_repository ON repository_jobs (repository, created_at);
