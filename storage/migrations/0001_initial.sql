-- Porchlight's first schema: per-server configuration, the one table of scheduled jobs, and a small key/value store.
-- Instants are INTEGER unix seconds (UTC). Discord snowflakes fit in a signed 64-bit INTEGER.

CREATE TABLE guild_config (
    guild_id          INTEGER PRIMARY KEY,
    help_channel_id   INTEGER NULL,
    queue_channel_id  INTEGER NULL,
    roster_channel_id INTEGER NULL,
    helper_role_id    INTEGER NULL,
    mentor_role_id    INTEGER NULL,
    moderator_role_id INTEGER NULL,
    -- Feature settings (followup_days, max_open_requests, ...) as one JSON object, so a feature can add a
    -- setting without a migration.
    settings          TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(settings) AND json_type(settings) = 'object'),
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT;

-- Everything scheduled (reminders, follow-ups, escalations) is a row here, run by one dispatcher.
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT    NOT NULL CHECK (length(kind) > 0),
    guild_id     INTEGER NULL,
    user_id      INTEGER NULL,
    -- Ids and settings only, never member-written text.
    payload      TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(payload) AND json_type(payload) = 'object'),
    due_at       INTEGER NOT NULL,
    status       TEXT    NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'running', 'done', 'failed', 'skipped', 'cancelled')),
    -- Incremented when a worker claims the job; also the fencing token of that claim.
    attempts     INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts INTEGER NOT NULL DEFAULT 5 CHECK (max_attempts >= 1),
    -- An exception class name and message from our own code, or why the job was skipped.
    last_error   TEXT    NULL,
    claimed_by   TEXT    NULL,
    lease_until  INTEGER NULL,
    dedupe_key   TEXT    NULL CHECK (dedupe_key IS NULL OR length(dedupe_key) > 0),
    created_at   INTEGER NOT NULL,
    finished_at  INTEGER NULL,
    CHECK (status <> 'running' OR (claimed_by IS NOT NULL AND lease_until IS NOT NULL))
) STRICT;

-- One logical job ("checkin-followup:<guild>:<user>") is scheduled at most once at a time.
CREATE UNIQUE INDEX jobs_live_dedupe ON jobs (dedupe_key) WHERE status IN ('pending', 'running');
-- The dispatcher's claim: pending jobs in due order.
CREATE INDEX jobs_status_due ON jobs (status, due_at);
-- A member's jobs, for /privacy export and delete.
CREATE INDEX jobs_user ON jobs (user_id) WHERE user_id IS NOT NULL;

-- Small facts about this installation, e.g. the hash of the application commands last synced.
CREATE TABLE meta (
    key   TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
