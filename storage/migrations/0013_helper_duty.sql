-- Helpers who don't burn out: the topics a helper takes and until when they are on call (/helper). Additive only.
-- Instants are INTEGER unix seconds (UTC). No member-written text.
CREATE TABLE helper_duty (
    guild_id      INTEGER NOT NULL,
    user_id       INTEGER NOT NULL,
    -- Request topics (services.help_requests.TOPICS keys) the helper takes; empty: every topic.
    topics        TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(topics) AND json_type(topics) = 'array'),
    -- On call until this instant; NULL or past: not on call. It ends by itself.
    on_call_until INTEGER NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (guild_id, user_id)
) STRICT;

-- A new request's question "who is on call here now?".
CREATE INDEX helper_duty_on_call ON helper_duty (guild_id, on_call_until) WHERE on_call_until IS NOT NULL;
-- "Least recently helped first": a helper's latest claim.
CREATE INDEX help_claims_helper_claimed ON help_claims (helper_id, claimed_at);
