-- Privacy and safety: moderator blocks, write-rate events, members who left, and the bot's presence per server.
-- Additive only. Instants are INTEGER unix seconds (UTC). No member-written text is kept here except a block's
-- reason, which a moderator writes and the blocked member is shown.

-- A moderator's /block: the member cannot open help requests or book calls until `until` (NULL: until unblocked).
CREATE TABLE member_blocks (
    guild_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    -- NULL once the moderator deleted their own data (/privacy delete); the block stays.
    blocked_by INTEGER NULL,
    reason     TEXT    NULL CHECK (reason IS NULL OR length(reason) BETWEEN 1 AND 200),
    created_at INTEGER NOT NULL,
    until      INTEGER NULL,
    PRIMARY KEY (guild_id, user_id),
    CHECK (until IS NULL OR until > created_at)
) STRICT;

-- One row per write a member made that a limit counts (a check-in, a help request, a booking request). Old rows
-- are purged by the daily privacy job; they carry ids and an action name only.
CREATE TABLE rate_events (
    id       INTEGER PRIMARY KEY,
    guild_id INTEGER NOT NULL,
    user_id  INTEGER NOT NULL,
    action   TEXT    NOT NULL CHECK (length(action) BETWEEN 1 AND 40),
    at       INTEGER NOT NULL
) STRICT;

CREATE INDEX rate_events_member ON rate_events (guild_id, user_id, action, at);
CREATE INDEX rate_events_at ON rate_events (at);

-- A member found gone from a server (the bot has no members intent, so reconciliation finds them). Their data is
-- deleted at `purge_after` unless they come back first.
CREATE TABLE member_departures (
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    left_at     INTEGER NOT NULL,
    purge_after INTEGER NOT NULL,
    PRIMARY KEY (guild_id, user_id),
    CHECK (purge_after >= left_at)
) STRICT;

CREATE INDEX member_departures_due ON member_departures (purge_after);

-- The bot in each server: when the getting-started message went out, and when the bot was removed (the server's
-- data is purged 30 days later unless the bot is invited back).
CREATE TABLE guild_presence (
    guild_id    INTEGER PRIMARY KEY,
    welcomed_at INTEGER NULL,
    removed_at  INTEGER NULL,
    purge_after INTEGER NULL,
    CHECK ((removed_at IS NULL) = (purge_after IS NULL))
) STRICT;
