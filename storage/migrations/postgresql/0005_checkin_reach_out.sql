-- PostgreSQL mirror of ../0005_checkin_reach_out.sql (translation rules: 0001_initial.sql in this directory).

CREATE TABLE checkin_reach_outs (
    checkin_id BIGINT PRIMARY KEY REFERENCES checkins (id) ON DELETE CASCADE,
    guild_id   BIGINT NOT NULL,
    helper_id  BIGINT NOT NULL,
    thread_id  BIGINT NULL UNIQUE,
    taken_at   BIGINT NOT NULL
);

CREATE INDEX checkin_reach_outs_helper ON checkin_reach_outs (helper_id);
