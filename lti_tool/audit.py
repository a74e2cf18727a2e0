"""The audit trail: who changed what, when. One writer for every feature.

`detail` never holds link tokens, invitation codes or guests' names and emails (ids only).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .clock import utcnow
from .extensions import db
from .models import AuditEvent


def record(
    action: str,
    *,
    actor: str,
    actor_name: str | None = None,
    room_id: str | None = None,
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> AuditEvent:
    event = AuditEvent(
        room_id=room_id,
        actor=actor[:255],
        actor_name=actor_name[:255] if actor_name else actor_name,
        action=action,
        detail=detail or {},
        created_at=now or utcnow(),
    )
    db.session.add(event)
    db.session.flush()
    return event
