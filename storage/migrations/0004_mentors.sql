-- Commute-call mentors: mentor profiles and the calls booked with them.
-- Additive only. Instants are INTEGER unix seconds (UTC); local times are computed from `timezone` when needed.

CREATE TABLE mentors (
    guild_id          INTEGER NOT NULL,
    user_id           INTEGER NOT NULL,
    status            TEXT    NOT NULL DEFAULT 'pending_approval'
                      CHECK (status IN ('pending_approval', 'active', 'paused', 'declined', 'left')),
    headline          TEXT    NOT NULL DEFAULT '' CHECK (length(headline) <= 100),
    -- Lowercase-hyphenated tags as a JSON array of strings, at most 8.
    topics            TEXT    NOT NULL DEFAULT '[]'
                      CHECK (json_valid(topics) AND json_type(topics) = 'array' AND json_array_length(topics) <= 8),
    about             TEXT    NOT NULL DEFAULT '' CHECK (length(about) <= 1000),
    timezone          TEXT    NOT NULL CHECK (length(timezone) > 0),
    -- Canonical text from services.windows.format_windows, parseable again.
    windows           TEXT    NOT NULL CHECK (length(windows) > 0),
    call_minutes      INTEGER NOT NULL CHECK (call_minutes IN (10, 15, 20, 30)),
    -- Named from the mentor's side: 'they_call_me' = the member calls the mentor, so the mentor's number is needed;
    -- 'i_call_them' = the mentor calls the member, so the member gives a number when booking.
    contact_mode      TEXT    NOT NULL CHECK (contact_mode IN ('they_call_me', 'i_call_them', 'discord_voice')),
    -- Fernet token of the E.164 number; never plaintext.
    phone_encrypted   BLOB    NULL,
    weekly_limit      INTEGER NOT NULL DEFAULT 3 CHECK (weekly_limit BETWEEN 1 AND 20),
    paused_until      INTEGER NULL,
    roster_message_id INTEGER NULL,
    decided_by        INTEGER NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    PRIMARY KEY (guild_id, user_id),
    CHECK (contact_mode <> 'they_call_me' OR phone_encrypted IS NOT NULL OR status IN ('declined', 'left')),
    CHECK (status <> 'left' OR phone_encrypted IS NULL)
) STRICT;

-- The roster and /mentors: a guild's mentors by status.
CREATE INDEX mentors_guild_status ON mentors (guild_id, status);

CREATE TABLE bookings (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id               INTEGER NOT NULL,
    mentor_user_id         INTEGER NOT NULL,
    member_user_id         INTEGER NOT NULL,
    starts_at              INTEGER NOT NULL,
    ends_at                INTEGER NOT NULL,
    status                 TEXT    NOT NULL DEFAULT 'requested'
                           CHECK (status IN ('requested', 'confirmed', 'declined', 'expired', 'cancelled', 'completed')),
    -- The mentor's contact mode when the member booked: editing the profile later does not change a booked call.
    contact_mode           TEXT    NOT NULL CHECK (contact_mode IN ('they_call_me', 'i_call_them', 'discord_voice')),
    topic_text             TEXT    NOT NULL DEFAULT '' CHECK (length(topic_text) <= 1000),
    member_phone_encrypted BLOB    NULL,
    -- When an unanswered request lapses.
    expires_at             INTEGER NOT NULL,
    cancel_reason          TEXT    NULL CHECK (cancel_reason IS NULL OR length(cancel_reason) <= 500),
    cancelled_by           INTEGER NULL,
    outcome                TEXT    NULL CHECK (outcome IS NULL OR outcome IN ('happened', 'no_show', 'rescheduled')),
    outcome_reported_by    INTEGER NULL,
    -- Who did not show, for the private no-show counts moderators see.
    no_show_user_id        INTEGER NULL,
    ics_sequence           INTEGER NOT NULL DEFAULT 0 CHECK (ics_sequence >= 0),
    created_at             INTEGER NOT NULL,
    decided_at             INTEGER NULL,
    updated_at             INTEGER NOT NULL,
    CHECK (ends_at > starts_at),
    CHECK (mentor_user_id <> member_user_id),
    CHECK (contact_mode <> 'i_call_them' OR member_phone_encrypted IS NOT NULL OR status NOT IN ('requested', 'confirmed')),
    CHECK (outcome IS NULL OR status = 'completed'),
    CHECK (status <> 'cancelled' OR cancelled_by IS NOT NULL)
) STRICT;

-- Double booking is impossible: one live (requested or confirmed) booking per mentor and start.
CREATE UNIQUE INDEX bookings_live_slot ON bookings (guild_id, mentor_user_id, starts_at)
    WHERE status IN ('requested', 'confirmed');
-- A mentor's calls in time order (free slots, /calls).
CREATE INDEX bookings_mentor_time ON bookings (guild_id, mentor_user_id, starts_at);
-- A member's calls (/calls, /privacy).
CREATE INDEX bookings_member_time ON bookings (member_user_id, starts_at);
-- Catch-up of unanswered requests after downtime.
CREATE INDEX bookings_requested_expiry ON bookings (expires_at) WHERE status = 'requested';
