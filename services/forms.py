"""Form drafts: nothing a member types into a form is lost, and a form outlives a restart.

A form (a Discord modal) is answered by its custom id, which carries ids only. What else its submission needs is
kept here, keyed by the member and the form's custom id:
- the options it was opened with, when they are member text that cannot go in a custom id (``/mentor signup``'s
  weekly windows): saved when the form opens (:meth:`FormDrafts.opened`);
- what the member typed, when a submission is refused or fails (:meth:`FormDrafts.keep`), so the form can be
  re-opened filled in.

Decisions:
- A draft is sealed (encrypted with the contact-details key): a refused phone number is still contact details.
- Drafts expire :data:`DRAFT_TTL` (24 h) after they were last written; expired drafts are never read and the daily
  retention pass deletes them. A successful submission deletes the draft at once.
- Opening a form that keeps its options here replaces the member's older drafts of that form in that server.
- Only the member who wrote a draft can read it (every read is keyed by their user id).
- /privacy delete removes every draft of the member (drafts are per person, like the DM-delivery record), and the
  export lists them with their text.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from services.clock import Clock
from services.contact import PhoneVault
from storage import form_drafts as store
from storage.db import Database
from storage.form_drafts import DraftRow

log = logging.getLogger(__name__)

DRAFT_TTL = timedelta(hours=24)
Values = dict[str, Any]  # input custom id -> the text typed (or, for a select, the values picked)


@dataclass(frozen=True, slots=True)
class FormDraft:
    id: int
    user_id: int
    guild_id: int | None
    form: str
    custom_id: str
    context: dict[str, Any] = field(default_factory=dict)
    values: Values = field(default_factory=dict)
    expires_at: datetime | None = None


class FormDrafts:
    def __init__(self, db: Database, clock: Clock, vault: PhoneVault) -> None:
        self.db = db
        self.clock = clock
        self.vault = vault

    def _seal(self, context: dict[str, Any], values: Values) -> bytes:
        return self.vault.seal(json.dumps({"context": context, "values": values}, ensure_ascii=False))

    def _open(self, row: DraftRow) -> FormDraft | None:
        text = self.vault.unseal(row.sealed)
        if text is None:
            return None
        data = json.loads(text)
        return FormDraft(
            id=row.id,
            user_id=row.user_id,
            guild_id=row.guild_id,
            form=row.form,
            custom_id=row.custom_id,
            context=dict(data.get("context") or {}),
            values=dict(data.get("values") or {}),
            expires_at=row.expires_at,
        )

    async def opened(
        self, user_id: int, guild_id: int | None, form: str, custom_id: str, context: dict[str, Any]
    ) -> FormDraft:
        """A form was opened whose submission needs ``context`` (ids, fixed words and member text alike)."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            await store.delete_other_drafts(
                conn, user_id=user_id, guild_id=guild_id, form=form, keep_custom_id=custom_id
            )
            row = await store.put_draft(
                conn,
                user_id=user_id,
                guild_id=guild_id,
                form=form,
                custom_id=custom_id,
                sealed=self._seal(context, {}),
                now=now,
                expires_at=now + DRAFT_TTL,
            )
        log.info("form opened form=%s user=%d draft=%d", form, user_id, row.id)
        return FormDraft(row.id, user_id, guild_id, form, custom_id, dict(context), {}, row.expires_at)

    async def get(self, user_id: int, custom_id: str) -> FormDraft | None:
        row = await store.get_draft(self.db.conn, user_id, custom_id, self.clock.now())
        return None if row is None else self._open(row)

    async def get_by_id(self, draft_id: int, user_id: int) -> FormDraft | None:
        """The member's own draft; None for anyone else's, an expired one, or one that is gone."""
        row = await store.get_draft_by_id(self.db.conn, draft_id, user_id, self.clock.now())
        return None if row is None else self._open(row)

    async def keep(
        self,
        user_id: int,
        guild_id: int | None,
        form: str,
        custom_id: str,
        values: Values,
        *,
        context: dict[str, Any] | None = None,
    ) -> FormDraft:
        """A submission was refused or failed: keep what the member typed, with the form's opening options
        (``context``, as :meth:`take` returned them; else those of the draft still stored)."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            if context is None:
                current = await store.get_draft(conn, user_id, custom_id, now)
                opened = self._open(current) if current is not None else None
                context = opened.context if opened is not None else {}
            row = await store.put_draft(
                conn,
                user_id=user_id,
                guild_id=guild_id,
                form=form,
                custom_id=custom_id,
                sealed=self._seal(context, values),
                now=now,
                expires_at=now + DRAFT_TTL,
            )
        log.info("form draft kept form=%s user=%d draft=%d", form, user_id, row.id)
        return FormDraft(row.id, user_id, guild_id, form, custom_id, context, dict(values), row.expires_at)

    async def take(self, user_id: int, custom_id: str) -> FormDraft | None:
        """A submission arrived: its draft is deleted before the submission is answered, so that "Edit my answers"
        on an earlier refusal finds nothing once the form went through; a refusal keeps it again (:meth:`keep`)."""
        async with self.db.statement() as conn:  # one DELETE ... RETURNING: atomic by itself
            row = await store.take_draft(conn, user_id, custom_id, self.clock.now())
        return None if row is None else self._open(row)

    # --- privacy -------------------------------------------------------------------------------------------------

    async def export_member(self, user_id: int) -> list[dict[str, Any]]:
        drafts = []
        for row in await store.member_drafts(self.db.conn, user_id, self.clock.now()):
            draft = self._open(row)
            drafts.append(
                {
                    "form": row.form,
                    "guild_id": None if row.guild_id is None else str(row.guild_id),
                    "saved_at": row.created_at.isoformat(),
                    "expires_at": row.expires_at.isoformat(),
                    "options": draft.context if draft else None,
                    "typed": draft.values if draft else None,
                }
            )
        return drafts

    async def delete_member(self, user_id: int) -> int:
        async with self.db.transaction() as conn:
            return await store.delete_member_drafts(conn, user_id)

    async def purge_expired(self) -> int:
        async with self.db.transaction() as conn:
            return await store.purge_expired(conn, self.clock.now())
