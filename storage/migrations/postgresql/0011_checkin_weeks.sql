-- PostgreSQL mirror of ../0011_checkin_weeks.sql (translation rules: 0001_initial.sql in this directory).
-- The five triggers keep their names; each body is a PL/pgSQL function of the same name. Differences from SQLite:
-- * PostgreSQL fires AFTER ... FOR EACH ROW triggers at the end of the statement, not after each row, so in a
--   statement that deletes several check-ins every trigger call sees all of them gone. The bodies only count what
--   remains, so the aggregate rows come out the same.
-- * SQLite serialises writers; PostgreSQL does not. checkins_weeks_delete therefore first locks the member's row for
--   that week, so a check-in inserted concurrently (which upserts the same row) is either seen by the checks that
--   follow or arrives after them; without the lock, the NOT EXISTS could delete the row a new check-in just updated.
-- * Scalar max(a, b) is GREATEST(a, b); a boolean used as 0/1 is cast with ::integer.

CREATE TABLE checkin_week_members (
    guild_id  BIGINT NOT NULL,
    week      BIGINT NOT NULL,
    user_id   BIGINT NOT NULL,
    status    TEXT   NOT NULL CHECK (status IN ('on_track', 'stuck', 'rut', 'hired')),
    latest_at BIGINT NOT NULL,
    latest_id BIGINT NOT NULL,
    shared    BIGINT NOT NULL CHECK (shared >= 0),
    PRIMARY KEY (guild_id, week, user_id)
);

CREATE TABLE checkin_week_counts (
    guild_id BIGINT NOT NULL,
    week     BIGINT NOT NULL,
    status   TEXT   NOT NULL CHECK (status IN ('on_track', 'stuck', 'rut', 'hired')),
    members  BIGINT NOT NULL CHECK (members > 0),
    shared   BIGINT NOT NULL CHECK (shared BETWEEN 0 AND members),
    PRIMARY KEY (guild_id, week, status)
);

INSERT INTO checkin_week_members (guild_id, week, user_id, status, latest_at, latest_id, shared)
SELECT guild_id, week, user_id, status, created_at, id, shared FROM (
    SELECT guild_id, created_at - (((created_at - 345600) % 604800) + 604800) % 604800 AS week, user_id, status,
           created_at, id,
           SUM(share_with_helpers) OVER member_week AS shared,
           ROW_NUMBER() OVER (member_week ORDER BY created_at DESC, id DESC) AS rn
    FROM checkins
    WINDOW member_week AS (PARTITION BY guild_id, created_at - (((created_at - 345600) % 604800) + 604800) % 604800,
                           user_id)
) AS member_weeks WHERE rn = 1;

INSERT INTO checkin_week_counts (guild_id, week, status, members, shared)
SELECT guild_id, week, status, COUNT(*), COUNT(*) FILTER (WHERE shared > 0)
FROM checkin_week_members GROUP BY guild_id, week, status;

-- A member's row per week follows their check-ins.
CREATE FUNCTION checkins_weeks_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO checkin_week_members AS m (guild_id, week, user_id, status, latest_at, latest_id, shared)
    VALUES (NEW.guild_id, NEW.created_at - (((NEW.created_at - 345600) % 604800) + 604800) % 604800, NEW.user_id,
            NEW.status, NEW.created_at, NEW.id, NEW.share_with_helpers)
    ON CONFLICT (guild_id, week, user_id) DO UPDATE SET
        status    = CASE WHEN (excluded.latest_at, excluded.latest_id) > (m.latest_at, m.latest_id)
                         THEN excluded.status ELSE m.status END,
        latest_id = CASE WHEN (excluded.latest_at, excluded.latest_id) > (m.latest_at, m.latest_id)
                         THEN excluded.latest_id ELSE m.latest_id END,
        latest_at = GREATEST(excluded.latest_at, m.latest_at),
        shared    = m.shared + excluded.shared;
    RETURN NULL;
END;
$$;

CREATE TRIGGER checkins_weeks_insert AFTER INSERT ON checkins
FOR EACH ROW EXECUTE FUNCTION checkins_weeks_insert();

CREATE FUNCTION checkins_weeks_delete() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_week BIGINT := OLD.created_at - (((OLD.created_at - 345600) % 604800) + 604800) % 604800;
BEGIN
    -- Not in SQLite (one writer at a time there): wait for any concurrent check-in of this member and week.
    PERFORM 1 FROM checkin_week_members
    WHERE guild_id = OLD.guild_id AND user_id = OLD.user_id AND week = old_week
    FOR UPDATE;
    -- Their last check-in that week went: the row goes.
    DELETE FROM checkin_week_members
    WHERE guild_id = OLD.guild_id AND user_id = OLD.user_id AND week = old_week
      AND NOT EXISTS (
          SELECT 1 FROM checkins
          WHERE guild_id = OLD.guild_id AND user_id = OLD.user_id
            AND created_at >= old_week AND created_at < old_week + 604800
      );
    UPDATE checkin_week_members SET shared = shared - 1
    WHERE OLD.share_with_helpers = 1 AND guild_id = OLD.guild_id AND user_id = OLD.user_id AND week = old_week;
    -- Their latest went but others remain: the latest of those decides the status.
    UPDATE checkin_week_members SET (status, latest_at, latest_id) = (
        SELECT status, created_at, id FROM checkins
        WHERE guild_id = OLD.guild_id AND user_id = OLD.user_id
          AND created_at >= old_week AND created_at < old_week + 604800
        ORDER BY created_at DESC, id DESC LIMIT 1
    )
    WHERE guild_id = OLD.guild_id AND user_id = OLD.user_id AND latest_id = OLD.id AND week = old_week;
    RETURN NULL;
END;
$$;

CREATE TRIGGER checkins_weeks_delete AFTER DELETE ON checkins
FOR EACH ROW EXECUTE FUNCTION checkins_weeks_delete();

-- The counts follow the members' rows.
CREATE FUNCTION checkin_week_members_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO checkin_week_counts AS c (guild_id, week, status, members, shared)
    VALUES (NEW.guild_id, NEW.week, NEW.status, 1, (NEW.shared > 0)::integer)
    ON CONFLICT (guild_id, week, status) DO UPDATE SET
        members = c.members + 1, shared = c.shared + excluded.shared;
    RETURN NULL;
END;
$$;

CREATE TRIGGER checkin_week_members_insert AFTER INSERT ON checkin_week_members
FOR EACH ROW EXECUTE FUNCTION checkin_week_members_insert();

CREATE FUNCTION checkin_week_members_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM checkin_week_counts
    WHERE guild_id = OLD.guild_id AND week = OLD.week AND status = OLD.status AND members = 1;
    UPDATE checkin_week_counts SET members = members - 1, shared = shared - (OLD.shared > 0)::integer
    WHERE guild_id = OLD.guild_id AND week = OLD.week AND status = OLD.status;
    RETURN NULL;
END;
$$;

CREATE TRIGGER checkin_week_members_delete AFTER DELETE ON checkin_week_members
FOR EACH ROW EXECUTE FUNCTION checkin_week_members_delete();

CREATE FUNCTION checkin_week_members_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM checkin_week_counts
    WHERE guild_id = OLD.guild_id AND week = OLD.week AND status = OLD.status AND members = 1;
    UPDATE checkin_week_counts SET members = members - 1, shared = shared - (OLD.shared > 0)::integer
    WHERE guild_id = OLD.guild_id AND week = OLD.week AND status = OLD.status;
    INSERT INTO checkin_week_counts AS c (guild_id, week, status, members, shared)
    VALUES (NEW.guild_id, NEW.week, NEW.status, 1, (NEW.shared > 0)::integer)
    ON CONFLICT (guild_id, week, status) DO UPDATE SET
        members = c.members + 1, shared = c.shared + excluded.shared;
    RETURN NULL;
END;
$$;

CREATE TRIGGER checkin_week_members_update AFTER UPDATE OF status, shared ON checkin_week_members
FOR EACH ROW WHEN (OLD.status != NEW.status OR (OLD.shared > 0) != (NEW.shared > 0))
EXECUTE FUNCTION checkin_week_members_update();
