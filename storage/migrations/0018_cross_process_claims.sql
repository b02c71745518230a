-- State that spans processes (docs/decisions.md, "State across processes"): several bot processes may share one
-- database, so what one process kept in memory to stay correct is kept here. Additive only. The values are worker
-- names ("name:incarnation") and instants, never member data, and they go with the row they sit on.

-- One runner at a time per effects subject, across processes. A runner marks the subject's pending effects as its
-- own until lease_until (renewed as it goes, released when it stops); another runner leaves the subject alone while
-- any of its pending effects is held by someone else under a lease that has not run out. A process that dies
-- mid-run holds the subject until the lease ends (or until it starts again under the same worker name).
ALTER TABLE effects ADD COLUMN claimed_by TEXT NULL;
ALTER TABLE effects ADD COLUMN lease_until INTEGER NULL;

-- A mentor's roster card: written by one process at a time (card_claimed_by until card_lease_until), and the
-- instant of its last edit, which the one-edit-a-minute debounce reads, known to every process.
ALTER TABLE mentors ADD COLUMN card_claimed_by TEXT NULL;
ALTER TABLE mentors ADD COLUMN card_lease_until INTEGER NULL;
ALTER TABLE mentors ADD COLUMN card_edited_at INTEGER NULL;
