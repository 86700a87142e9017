-- An ssh repository's host keys ("TYPE BASE64" lines): given at
-- registration, or learned on the first fetch (trust on first use) and
-- required from then on. The same text serves SQLite and PostgreSQL.
ALTER TABLE repositories ADD COLUMN host_key TEXT;
ALTER TABLE repositories ADD COLUMN host_key_given BIGINT NOT NULL DEFAULT 0;
