-- PostgreSQL mirror of ../0010_dm_channels.sql (translation rules: 0001_initial.sql in this directory).

CREATE TABLE dm_channels (
    user_id    BIGINT PRIMARY KEY,
    channel_id BIGINT NOT NULL
);
