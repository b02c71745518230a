-- Every job about a member names them in user_id (storage.job_members enforces it for new jobs). Jobs written
-- before that carried the member only in their payload (mentors.roster_refresh: {"guild_id", "user_id"}), where
-- /privacy delete (WHERE user_id = ?) missed them: move the id into the column.
UPDATE jobs
SET user_id = CAST(json_extract(payload, '$.user_id') AS INTEGER)
WHERE user_id IS NULL AND json_type(payload, '$.user_id') IN ('integer', 'text');
