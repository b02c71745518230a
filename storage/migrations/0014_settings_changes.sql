-- Every change an admin makes to a per-server setting (/setup set, /setup reset): who, when, from, to.
-- Values are JSON (a number or true/false); NULL means "the default" (unset). changed_by is NULL once that admin
-- deleted their data (/privacy delete): the change stays, anonymous.
CREATE TABLE settings_changes (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    name       TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    old_value  TEXT    NULL CHECK (old_value IS NULL OR json_valid(old_value)),
    new_value  TEXT    NULL CHECK (new_value IS NULL OR json_valid(new_value)),
    changed_by INTEGER NULL,
    changed_at INTEGER NOT NULL
) STRICT;

CREATE INDEX settings_changes_guild ON settings_changes (guild_id, changed_at DESC, id DESC);
CREATE INDEX settings_changes_by ON settings_changes (changed_by) WHERE changed_by IS NOT NULL;

-- /stats reads the last 8 weeks of a server's help requests and calls by creation time.
CREATE INDEX help_requests_guild_created ON help_requests (guild_id, created_at);
CREATE INDEX bookings_guild_created ON bookings (guild_id, created_at);
