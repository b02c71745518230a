-- Moving a confirmed call: the member proposes a new time, the mentor accepts or declines. Additive only.
-- The booking row keeps its id (so the invite keeps its UID); on accept its times change and ics_sequence goes up.

CREATE TABLE booking_moves (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    booking_id     INTEGER NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
    guild_id       INTEGER NOT NULL,
    mentor_user_id INTEGER NOT NULL,
    starts_at      INTEGER NOT NULL,
    ends_at        INTEGER NOT NULL,
    status         TEXT    NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'accepted', 'declined', 'expired', 'withdrawn')),
    -- When an unanswered proposal lapses (the call then stays where it was).
    expires_at     INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    decided_at     INTEGER NULL,
    CHECK (ends_at > starts_at)
) STRICT;

-- One open proposal per call.
CREATE UNIQUE INDEX booking_moves_one_pending ON booking_moves (booking_id) WHERE status = 'pending';
-- A proposed time is held for the call while the mentor decides: nobody else can propose it meanwhile.
CREATE UNIQUE INDEX booking_moves_held_slot ON booking_moves (guild_id, mentor_user_id, starts_at)
    WHERE status = 'pending';
CREATE INDEX booking_moves_expiry ON booking_moves (expires_at) WHERE status = 'pending';
