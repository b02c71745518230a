-- Anonymous asks (issue 14): a request whose asker helpers never see, the words relayed between the thread and the
-- asker's DMs, and the audit of moderators' reveals. Additive only. Instants are INTEGER unix seconds (UTC).

-- 1: the thread was opened without the asker; replies travel through Porchlight (help_relays).
ALTER TABLE help_requests ADD COLUMN anonymous INTEGER NOT NULL DEFAULT 0 CHECK (anonymous IN (0, 1));
-- When the asker chose to show their name (they are then in the thread). Never set by anyone else.
ALTER TABLE help_requests ADD COLUMN revealed_at INTEGER NULL;
-- A DM to Porchlight: the author's anonymous requests, in any server (a DM names none).
CREATE INDEX help_requests_anonymous ON help_requests (asker_id, status) WHERE anonymous = 1;
-- A reply to one of Porchlight's DMs about a request: which effect posted it.
CREATE INDEX effects_result ON effects (result_id) WHERE result_id IS NOT NULL;

-- One message carried between an anonymous request's thread and its asker's DMs. The text is member-written: it is
-- held only until delivered, then blanked (NULL); the row stays so a reply to the relayed DM finds its request.
CREATE TABLE help_relays (
    id           INTEGER PRIMARY KEY,
    request_id   INTEGER NOT NULL REFERENCES help_requests (id) ON DELETE CASCADE,
    -- to_member: a helper's reply, DMed to the asker; to_thread: the asker's DM, posted in the thread.
    direction    TEXT    NOT NULL CHECK (direction IN ('to_member', 'to_thread')),
    -- The helper who wrote a to_member relay (NULL once they deleted their data); NULL for to_thread.
    author_id    INTEGER NULL,
    -- Idempotency: the interaction, form or DM message the text came from.
    source_key   TEXT    NOT NULL UNIQUE CHECK (length(source_key) > 0),
    text         TEXT    NULL CHECK (text IS NULL OR length(text) BETWEEN 1 AND 2000),
    created_at   INTEGER NOT NULL,
    delivered_at INTEGER NULL,
    -- What Discord created: the DM (to_member) or the thread message (to_thread).
    message_id   INTEGER NULL,
    CHECK (delivered_at IS NULL OR text IS NULL)
) STRICT;

CREATE INDEX help_relays_request ON help_relays (request_id, id);
-- A reply to a relayed DM: which request was it about?
CREATE INDEX help_relays_message ON help_relays (message_id) WHERE message_id IS NOT NULL;

-- Every time a moderator looked up who asked an anonymous request (for abuse), with the reason they gave.
CREATE TABLE help_reveals (
    id           INTEGER PRIMARY KEY,
    guild_id     INTEGER NOT NULL,
    request_id   INTEGER NOT NULL REFERENCES help_requests (id) ON DELETE CASCADE,
    -- NULL once the moderator deleted their data: the reveal stays in the audit list.
    moderator_id INTEGER NULL,
    reason       TEXT    NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    revealed_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX help_reveals_guild ON help_reveals (guild_id, revealed_at);
CREATE INDEX help_reveals_request ON help_reveals (request_id);
