-- "I'll reach out": a helper taking a check-in that asked for a reach-out (share_with_helpers).
-- Additive only. Instants are INTEGER unix seconds (UTC).

-- The row is the claim: its primary key makes a second helper's take impossible, whatever the timing.
-- Deleting the member's check-ins (/privacy delete) deletes their reach-outs with them.
CREATE TABLE checkin_reach_outs (
    checkin_id INTEGER PRIMARY KEY REFERENCES checkins (id) ON DELETE CASCADE,
    guild_id   INTEGER NOT NULL,
    helper_id  INTEGER NOT NULL,
    -- The private thread, once created; NULL while it is being opened.
    thread_id  INTEGER NULL UNIQUE,
    taken_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX checkin_reach_outs_helper ON checkin_reach_outs (helper_id);
