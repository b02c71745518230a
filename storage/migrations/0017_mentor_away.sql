-- Mentors away or travelling: whole local dates (inclusive) when they take no calls, or take them in another zone.
-- Additive only. The mentor's data: it goes with their profile, and /privacy export lists it.

CREATE TABLE mentor_absences (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('away', 'travel')),
    -- ISO dates (YYYY-MM-DD): away dates on the home calendar, travel dates on the travel zone's calendar.
    first_day   TEXT    NOT NULL CHECK (date(first_day) IS first_day),
    last_day    TEXT    NOT NULL CHECK (date(last_day) IS last_day),
    timezone    TEXT    NULL,
    created_at  INTEGER NOT NULL,
    CHECK (last_day >= first_day),
    CHECK ((kind = 'travel') = (timezone IS NOT NULL)),
    FOREIGN KEY (guild_id, user_id) REFERENCES mentors (guild_id, user_id) ON DELETE CASCADE
) STRICT;

CREATE INDEX mentor_absences_mentor ON mentor_absences (guild_id, user_id, last_day);
