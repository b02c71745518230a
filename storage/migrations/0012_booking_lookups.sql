-- Lookups on the interaction path that must not read a server's whole booking history. Additive only.

-- A person's calls as a mentor in any server (booking checks "involving" either side; /privacy in every server).
CREATE INDEX bookings_mentor_anywhere ON bookings (mentor_user_id, starts_at);
-- /mentor no-shows: only reported no-shows, per server.
CREATE INDEX bookings_no_shows ON bookings (guild_id, no_show_user_id) WHERE outcome = 'no_show';
-- The limit on unanswered booking requests a member may have at once.
CREATE INDEX bookings_member_requests ON bookings (guild_id, member_user_id) WHERE status = 'requested';
