-- The outbox of Discord side effects (docs/effects.md). A state change records each effect it implies (create the
-- thread, post the opening message, show the queue card, DM the asker) in the same transaction as the change; an
-- idempotent executor carries them out, in order per subject, and records what Discord created. Additive only.
-- Instants are INTEGER unix seconds (UTC). Ids and template names only, never member-written text.
CREATE TABLE effects (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    -- What the effect is about, e.g. 'help:12'. Effects of one subject run one at a time, in id order.
    subject     TEXT    NOT NULL CHECK (length(subject) > 0),
    kind        TEXT    NOT NULL CHECK (length(kind) > 0),
    guild_id    INTEGER NULL,
    -- The member the effect concerns, so /privacy delete finds it.
    user_id     INTEGER NULL,
    args        TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(args) AND json_type(args) = 'object'),
    status      TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'cancelled', 'failed')),
    -- Not carried out before this instant (a fallback notice waits for the interaction's own answer).
    not_before  INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- An exception class name (and Discord status) from our side; never member text.
    last_error  TEXT    NULL,
    -- What Discord created or touched: the channel and the message (or thread) id.
    channel_id  INTEGER NULL,
    result_id   INTEGER NULL,
    created_at  INTEGER NOT NULL,
    done_at     INTEGER NULL,
    CHECK ((status IN ('done', 'cancelled', 'failed')) = (done_at IS NOT NULL))
) STRICT;

-- The executor's read: a subject's pending effects in order.
CREATE INDEX effects_pending ON effects (subject, id) WHERE status = 'pending';
-- What was posted for a subject (take-downs, lookups of the opening message).
CREATE INDEX effects_subject_kind ON effects (subject, kind);
-- /privacy export and delete.
CREATE INDEX effects_user ON effects (user_id) WHERE user_id IS NOT NULL;
