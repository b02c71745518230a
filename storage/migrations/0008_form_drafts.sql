-- Form drafts: what a member typed into a form (a Discord modal), kept so that nothing typed is lost.
-- A row holds the options a form was opened with (for forms whose slash options do not fit in a custom id, such as
-- /mentor signup's windows) and, after a refused or failed submission, the text the member typed, so the form can
-- be re-opened filled in. `sealed` is that JSON encrypted with the contact-details key (it may hold a phone number).
-- Rows expire after a day, are deleted once the form is sent successfully, and by /privacy delete.
CREATE TABLE form_drafts (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    -- the server the form is for; NULL when it was opened in a DM without one
    guild_id   INTEGER NULL,
    -- the form's key in the custom-id registry, e.g. 'mentors.apply'
    form       TEXT    NOT NULL CHECK (length(form) BETWEEN 1 AND 40),
    -- the modal's custom id (ids and fixed words only), to re-open the same form
    custom_id  TEXT    NOT NULL CHECK (length(custom_id) BETWEEN 1 AND 100),
    sealed     BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    UNIQUE (user_id, custom_id),
    CHECK (expires_at > created_at)
) STRICT;

CREATE INDEX form_drafts_expiry ON form_drafts (expires_at);
CREATE INDEX form_drafts_member_form ON form_drafts (user_id, guild_id, form);
