-- PostgreSQL mirror of ../0012_booking_lookups.sql (translation rules: 0001_initial.sql in this directory).

CREATE INDEX bookings_mentor_anywhere ON bookings (mentor_user_id, starts_at);
CREATE INDEX bookings_no_shows ON bookings (guild_id, no_show_user_id) WHERE outcome = 'no_show';
CREATE INDEX bookings_member_requests ON bookings (guild_id, member_user_id) WHERE status = 'requested';
