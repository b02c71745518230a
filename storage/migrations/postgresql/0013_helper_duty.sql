-- PostgreSQL mirror of ../0013_helper_duty.sql (translation rules: 0001_initial.sql in this directory).

CREATE TABLE helper_duty (
    guild_id      BIGINT NOT NULL,
    user_id       BIGINT NOT NULL,
    topics        TEXT   NOT NULL DEFAULT '[]' CHECK (porchlight_json_type(topics) = 'array'),
    on_call_until BIGINT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);

CREATE INDEX helper_duty_on_call ON helper_duty (guild_id, on_call_until) WHERE on_call_until IS NOT NULL;
CREATE INDEX help_claims_helper_claimed ON help_claims (helper_id, claimed_at);
