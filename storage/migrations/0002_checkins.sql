-- Private check-ins, check-in reminder schedules and DM delivery bookkeeping.
-- Additive only: nothing here touches the tables of 0001. Instants are INTEGER unix seconds (UTC).

CREATE TABLE checkins (
    id                 INTEGER PRIMARY KEY,
    guild_id           INTEGER NOT NULL,
    user_id            INTEGER NOT NULL,
    status             TEXT    NOT NULL CHECK (status IN ('on_track', 'stuck', 'rut', 'hired')),
    note               TEXT    NULL CHECK (note IS NULL OR length(note) BETWEEN 1 AND 1000),
    share_with_helpers INTEGER NOT NULL DEFAULT 0 CHECK (share_with_helpers IN (0, 1)),
    source             TEXT    NOT NULL CHECK (source IN ('command', 'followup', 'reminder')),
    -- Idempotency: the interaction's message id + user for button presses, so a double press stores one row.
    dedupe_key         TEXT    NULL,
    created_at         INTEGER NOT NULL,
    -- Only stuck / in a rut can ask for a reach-out.
    CHECK (share_with_helpers = 0 OR status IN ('stuck', 'rut'))
) STRICT;

-- Scoped to the member, so a key can never hand back somebody else's row.
CREATE UNIQUE INDEX checkins_dedupe ON checkins (guild_id, user_id, dedupe_key) WHERE dedupe_key IS NOT NULL;
-- /checkin-history and "previous check-in" lookups.
CREATE INDEX checkins_member_history ON checkins (guild_id, user_id, created_at DESC, id DESC);
-- /pulse: one guild's check-ins in a week.
CREATE INDEX checkins_guild_week ON checkins (guild_id, created_at);

CREATE TABLE reminder_schedules (
    guild_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    cadence    TEXT    NOT NULL CHECK (cadence IN ('daily', 'weekdays', 'weekly')),
    local_time TEXT    NOT NULL CHECK (local_time GLOB '[0-2][0-9]:[0-5][0-9]' AND local_time < '24:00'),
    timezone   TEXT    NOT NULL CHECK (length(timezone) > 0),
    weekday    INTEGER NULL CHECK (weekday BETWEEN 0 AND 6),  -- 0 = Monday, local calendar
    paused     INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),  -- set after repeated DM failures
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (guild_id, user_id),
    CHECK ((cadence = 'weekly') = (weekday IS NOT NULL))
) STRICT;

-- Pausing after DM failures is per user (DMs are not per guild).
CREATE INDEX reminder_schedules_user ON reminder_schedules (user_id);

CREATE TABLE dm_delivery (
    user_id              INTEGER PRIMARY KEY,
    consecutive_failures INTEGER NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    last_failure_at      INTEGER NULL,
    notice_pending       INTEGER NOT NULL DEFAULT 0 CHECK (notice_pending IN (0, 1))
) STRICT;
