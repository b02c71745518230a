-- The DM channel Porchlight uses for each person: Discord keeps one per bot and user, and its id never changes, so
-- remembering it makes a DM one request (the message) instead of three (fetch the user, open the DM, send).
-- Additive only. Deleted with the member's data (/privacy delete, leaving); forgotten when Discord says it is unknown.

CREATE TABLE dm_channels (
    user_id    INTEGER PRIMARY KEY,
    channel_id INTEGER NOT NULL
) STRICT;
