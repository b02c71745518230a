-- PostgreSQL mirror of ../0009_jobs_name_their_member.sql (translation rules: 0001_initial.sql in this directory).
-- A PostgreSQL database starts at the current code, so this finds no rows; it is kept so both dialects have the same
-- versions. SQLite's json_type(payload, '$.user_id') IN ('integer', 'text') is a JSON integer literal or a string;
-- CAST(text AS INTEGER) takes the text's leading integer, or 0 when there is none.
UPDATE jobs
SET user_id = CASE
        WHEN jsonb_typeof(payload::jsonb -> 'user_id') = 'number' THEN (payload::jsonb ->> 'user_id')::bigint
        ELSE COALESCE(substring(payload::jsonb ->> 'user_id' FROM '^\s*([+-]?[0-9]+)')::bigint, 0)
    END
WHERE user_id IS NULL
  AND (jsonb_typeof(payload::jsonb -> 'user_id') = 'string'
       OR (jsonb_typeof(payload::jsonb -> 'user_id') = 'number' AND payload::jsonb ->> 'user_id' ~ '^-?[0-9]+$'));
