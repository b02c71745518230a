-- Private help requests (/ask), the helpers who claim them, and a per-server counter for request numbers.
-- Additive only. Instants are INTEGER unix seconds (UTC).

-- The number members and helpers see (#12) counts per server. It is taken from this row inside the same
-- BEGIN IMMEDIATE transaction that inserts the request, so two concurrent requests can never get the same number.
CREATE TABLE help_counters (
    guild_id    INTEGER PRIMARY KEY,
    last_number INTEGER NOT NULL CHECK (last_number >= 1)
) STRICT;

CREATE TABLE help_requests (
    id               INTEGER PRIMARY KEY,
    guild_id         INTEGER NOT NULL,
    number           INTEGER NOT NULL CHECK (number >= 1),
    -- NULL once the member deleted their data (/privacy delete): the row stays as an anonymous count.
    asker_id         INTEGER NULL,
    topic            TEXT    NOT NULL CHECK (topic IN ('resume', 'interviews', 'networking', 'applications', 'offers',
                                                       'career-change', 'motivation', 'other')),
    -- Member-written text. NULL after /privacy delete; never logged.
    body             TEXT    NULL CHECK (body IS NULL OR length(body) BETWEEN 1 AND 1500),
    wants            TEXT    NULL CHECK (wants IS NULL OR length(wants) BETWEEN 1 AND 200),
    -- pending_thread: stored, but the private thread could not be created yet (e.g. a missing permission).
    status           TEXT    NOT NULL DEFAULT 'pending_thread' CHECK (status IN ('pending_thread', 'open', 'closed')),
    thread_id        INTEGER NULL UNIQUE,
    queue_message_id INTEGER NULL,
    source           TEXT    NOT NULL CHECK (source IN ('ask', 'checkin', 'reach_out')),
    -- Idempotency: the modal submission's key, so a retry or double submit returns the same request.
    submit_key       TEXT    NULL CHECK (submit_key IS NULL OR length(submit_key) > 0),
    created_at       INTEGER NOT NULL,
    -- Since when the request has had no helper (creation, the last release, a reopen); NULL while claimed.
    -- Escalation times count from here.
    awaiting_since   INTEGER NULL,
    escalation_level INTEGER NOT NULL DEFAULT 0 CHECK (escalation_level IN (0, 1, 2)),
    last_activity_at INTEGER NOT NULL,
    idle_asked_at    INTEGER NULL,
    -- Stats kept for later: time to first claim, answered or not, closed by whom, feedback.
    first_claimed_at INTEGER NULL,
    closed_at        INTEGER NULL,
    closed_by        INTEGER NULL,
    close_reason     TEXT    NULL CHECK (close_reason IN ('asker', 'helper', 'moderator', 'idle', 'thread_deleted',
                                                          'asker_left')),
    feedback         TEXT    NULL CHECK (feedback IN ('yes', 'no')),
    UNIQUE (guild_id, number),
    CHECK ((status = 'closed') = (closed_at IS NOT NULL AND close_reason IS NOT NULL)),
    CHECK (status <> 'open' OR thread_id IS NOT NULL),
    CHECK (feedback IS NULL OR status = 'closed')
) STRICT;

-- Scoped to the member, so a key can never hand back somebody else's request.
CREATE UNIQUE INDEX help_requests_submit_key ON help_requests (guild_id, asker_id, submit_key)
    WHERE submit_key IS NOT NULL;
-- /help-queue and reconciliation: a server's live requests, oldest first.
CREATE INDEX help_requests_live ON help_requests (guild_id, status, created_at) WHERE status <> 'closed';
-- Limits, cooldown, /privacy export and delete: one member's requests.
CREATE INDEX help_requests_asker ON help_requests (guild_id, asker_id, created_at);

CREATE TABLE help_claims (
    id          INTEGER PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES help_requests (id) ON DELETE CASCADE,
    -- NULL once the helper deleted their data: the claim stays as an anonymous count.
    helper_id   INTEGER NULL,
    claimed_at  INTEGER NOT NULL,
    released_at INTEGER NULL,
    CHECK (released_at IS NULL OR released_at >= claimed_at)
) STRICT;

-- A helper holds at most one active claim on a request: a double click cannot add them twice.
CREATE UNIQUE INDEX help_claims_active ON help_claims (request_id, helper_id) WHERE released_at IS NULL;
-- A helper's claims (losing the helper role, leaving, /privacy).
CREATE INDEX help_claims_helper ON help_claims (helper_id, released_at);
