-- PostgreSQL mirror of ../0018_cross_process_claims.sql (translation rules: 0001_initial.sql in this directory).

ALTER TABLE effects ADD COLUMN claimed_by TEXT NULL;
ALTER TABLE effects ADD COLUMN lease_until BIGINT NULL;

ALTER TABLE mentors ADD COLUMN card_claimed_by TEXT NULL;
ALTER TABLE mentors ADD COLUMN card_lease_until BIGINT NULL;
ALTER TABLE mentors ADD COLUMN card_edited_at BIGINT NULL;
