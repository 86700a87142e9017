-- Every notification sent about a run, one row per target: its attempts
-- so far and how it ended (delivered, or the last error once given up).
CREATE TABLE notification_deliveries (
    id TEXT PRIMARY KEY,
    run TEXT NOT NULL,
    -- 'email' or 'webhook'
    channel TEXT NOT NULL,
    -- The address or URL.
    target TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    -- 'sending', 'delivered' or 'failed'
    state TEXT NOT NULL,
    error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX notification_deliveries_run ON notification_deliveries (run);
