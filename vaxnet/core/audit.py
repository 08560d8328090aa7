"""Recording audit events; services call this inside their transaction."""

from typing import Any

from django.db import models

from vaxnet.core import context
from vaxnet.core.models import AuditEvent, User
from vaxnet.core.rows import insert_returning


def audit_record(
    *,
    actor: User | None,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    data: dict[str, Any] | None = None,
    actor_label: str = "",
) -> AuditEvent:
    """Record that the actor did an action to an object, from the current request's address."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    info = context.request_info()
    event = AuditEvent(
        actor=actor if actor is not None and actor.pk else None,
        actor_label=actor_label or (actor.get_username() if actor is not None else "system"),
        action=action,
        object_type=object_type,
        object_id=object_id,
        ip=info.ip,
        data=data or {},
    )
    # Every write records one: its INSERT is built once (vaxnet.core.rows).
    insert_returning(event)
    return event
