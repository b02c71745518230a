-- /pulse without reading the week's check-ins: each member's latest status per server and week, and the counts per
-- status, kept up to date by triggers on every insert and delete of a check-in (a command, a button, /privacy
-- delete, retention, a member's or a server's purge), so no path can leave them stale.
-- Weeks start Monday 00:00 UTC and are stored as that instant in unix seconds (1970-01-05 was a Monday: 345600).
-- Additive only: the existing check-ins are counted once, here.

CREATE TABLE checkin_week_members (
    guild_id  INTEGER NOT NULL,
    week      INTEGER NOT NULL,
    user_id   INTEGER NOT NULL,
    -- The member's latest check-in that week (by created_at, then id) and its status.
    status    TEXT    NOT NULL CHECK (status IN ('on_track', 'stuck', 'rut', 'hired')),
    latest_at INTEGER NOT NULL,
    latest_id INTEGER NOT NULL,
    -- How many of their check-ins that week asked for a reach-out.
    shared    INTEGER NOT NULL CHECK (shared >= 0),
    PRIMARY KEY (guild_id, week, user_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE checkin_week_counts (
    guild_id INTEGER NOT NULL,
    week     INTEGER NOT NULL,
    status   TEXT    NOT NULL CHECK (status IN ('on_track', 'stuck', 'rut', 'hired')),
    -- Members whose latest status that week is `status`, and of those, members who asked for a reach-out that week.
    members  INTEGER NOT NULL CHECK (members > 0),
    shared   INTEGER NOT NULL CHECK (shared BETWEEN 0 AND members),
    PRIMARY KEY (guild_id, week, status)
) STRICT, WITHOUT ROWID;

INSERT INTO checkin_week_members (guild_id, week, user_id, status, latest_at, latest_id, shared)
SELECT guild_id, week, user_id, status, created_at, id, shared FROM (
    SELECT guild_id, created_at - (((created_at - 345600) % 604800) + 604800) % 604800 AS week, user_id, status,
           created_at, id,
           SUM(share_with_helpers) OVER member_week AS shared,
           ROW_NUMBER() OVER (member_week ORDER BY created_at DESC, id DESC) AS rn
    FROM checkins
    WINDOW member_week AS (PARTITION BY guild_id, created_at - (((created_at - 345600) % 604800) + 604800) % 604800,
                           user_id)
) WHERE rn = 1;

INSERT INTO checkin_week_counts (guild_id, week, status, members, shared)
SELECT guild_id, week, status, COUNT(*), SUM(shared > 0) FROM checkin_week_members GROUP BY guild_id, week, status;

-- A member's row per week follows their check-ins.
CREATE TRIGGER checkins_weeks_insert AFTER INSERT ON checkins BEGIN
    INSERT INTO checkin_week_members (guild_id, week, user_id, status, latest_at, latest_id, shared)
    VALUES (NEW.guild_id, NEW.created_at - (((NEW.created_at - 345600) % 604800) + 604800) % 604800, NEW.user_id,
            NEW.status, NEW.created_at, NEW.id, NEW.share_with_helpers)
    ON CONFLICT (guild_id, week, user_id) DO UPDATE SET
        status    = CASE WHEN (excluded.latest_at, excluded.latest_id) > (latest_at, latest_id)
                         THEN excluded.status ELSE status END,
        latest_id = CASE WHEN (excluded.latest_at, excluded.latest_id) > (latest_at, latest_id)
                         THEN excluded.latest_id ELSE latest_id END,
        latest_at = max(excluded.latest_at, latest_at),
        shared    = shared + excluded.shared;
END;

CREATE TRIGGER checkins_weeks_delete AFTER DELETE ON checkins BEGIN
    -- Their last check-in that week went: the row goes.
    DELETE FROM checkin_week_members
    WHERE guild_id = OLD.guild_id AND user_id = OLD.user_id
      AND week = OLD.created_at - (((OLD.created_at - 345600) % 604800) + 604800) % 604800
      AND NOT EXISTS (
          SELECT 1 FROM checkins
          WHERE guild_id = OLD.guild_id AND user_id = OLD.user_id
            AND created_at >= OLD.created_at - (((OLD.created_at - 345600) % 604800) + 604800) % 604800
            AND created_at < OLD.created_at - (((OLD.created_at - 345600) % 604800) + 604800) % 604800 + 604800
      );
    UPDATE checkin_week_members SET shared = shared - 1
    WHERE OLD.share_with_helpers = 1 AND guild_id = OLD.guild_id AND user_id = OLD.user_id
      AND week = OLD.created_at - (((OLD.created_at - 345600) % 604800) + 604800) % 604800;
    -- Their latest went but others remain: the latest of those decides the status.
    UPDATE checkin_week_members SET (status, latest_at, latest_id) = (
        SELECT status, created_at, id FROM checkins
        WHERE guild_id = OLD.guild_id AND user_id = OLD.user_id
          AND created_at >= OLD.created_at - (((OLD.created_at - 345600) % 604800) + 604800) % 604800
          AND created_at < OLD.created_at - (((OLD.created_at - 345600) % 604800) + 604800) % 604800 + 604800
        ORDER BY created_at DESC, id DESC LIMIT 1
    )
    WHERE guild_id = OLD.guild_id AND user_id = OLD.user_id AND latest_id = OLD.id
      AND week = OLD.created_at - (((OLD.created_at - 345600) % 604800) + 604800) % 604800;
END;

-- The counts follow the members' rows.
CREATE TRIGGER checkin_week_members_insert AFTER INSERT ON checkin_week_members BEGIN
    INSERT INTO checkin_week_counts (guild_id, week, status, members, shared)
    VALUES (NEW.guild_id, NEW.week, NEW.status, 1, NEW.shared > 0)
    ON CONFLICT (guild_id, week, status) DO UPDATE SET
        members = members + 1, shared = shared + excluded.shared;
END;

CREATE TRIGGER checkin_week_members_delete AFTER DELETE ON checkin_week_members BEGIN
    DELETE FROM checkin_week_counts
    WHERE guild_id = OLD.guild_id AND week = OLD.week AND status = OLD.status AND members = 1;
    UPDATE checkin_week_counts SET members = members - 1, shared = shared - (OLD.shared > 0)
    WHERE guild_id = OLD.guild_id AND week = OLD.week AND status = OLD.status;
END;

CREATE TRIGGER checkin_week_members_update AFTER UPDATE OF status, shared ON checkin_week_members
WHEN OLD.status != NEW.status OR (OLD.shared > 0) != (NEW.shared > 0) BEGIN
    DELETE FROM checkin_week_counts
    WHERE guild_id = OLD.guild_id AND week = OLD.week AND status = OLD.status AND members = 1;
    UPDATE checkin_week_counts SET members = members - 1, shared = shared - (OLD.shared > 0)
    WHERE guild_id = OLD.guild_id AND week = OLD.week AND status = OLD.status;
    INSERT INTO checkin_week_counts (guild_id, week, status, members, shared)
    VALUES (NEW.guild_id, NEW.week, NEW.status, 1, NEW.shared > 0)
    ON CONFLICT (guild_id, week, status) DO UPDATE SET
        members = members + 1, shared = shared + excluded.shared;
END;
