"""Recording what web requests do in the audit log: :func:`record`.

Who acted is the principal the access gate put on the request (read from ``flask.g`` here rather than
through :mod:`dashboard.auth`, which records sign-ins through this module), the address is the
client's as the server saw it (behind a trusted proxy, the one the proxy reported), the time is the
services' clock. Recording never breaks what the user did: a failure to write is logged with its
traceback and the action goes on.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import g, has_app_context, has_request_context, request

from cityops.base.audit import ACTOR_KINDS, AuditEvent

log = logging.getLogger("cityops.audit")


def _principal(actor: Any | None) -> tuple[str, str | None, str]:
    """(name, role, kind) of ``actor`` (anything with ``name``, ``role`` and ``kind``), else of the
    request's principal; nobody signed in is the anonymous kind with no role."""
    who = actor if actor is not None else (getattr(g, "principal", None) if has_request_context() else None)
    if who is None:
        return "", None, "anonymous"
    kind = str(getattr(who, "kind", "anonymous"))
    return (
        str(getattr(who, "name", "") or ""),
        getattr(who, "role", None),
        kind if kind in ACTOR_KINDS else "anonymous",
    )


def record(
    action: str,
    subject: str = "",
    *,
    outcome: str = "ok",
    actor: Any | None = None,
    batched: bool = False,
    **detail: Any,
) -> AuditEvent | None:
    """Record ``action`` on ``subject`` by the request's principal (or ``actor``, e.g. the name typed
    into a refused sign-in: ``Principal(typed_name, None, "anonymous")``); the event, or None when it
    could not be recorded (logged). ``detail`` is a few small JSON values. ``batched``: written within
    a second by :class:`AuditBatch` (refused sign-ins), not in this request."""
    try:
        from dashboard.services import services

        name, role, kind = _principal(actor)
        address = request.remote_addr if has_request_context() else None
        if not has_app_context():
            raise RuntimeError("no app: the audit log is reached through the app's services")
        svc = services()
        event = AuditEvent(
            action=action,
            actor=name,
            role=role,
            actor_kind=kind,
            address=address,
            subject=subject,
            outcome=outcome,
            detail=detail,
            at=svc.now(),
        )
        if batched:
            svc.audit_batch().add(event)
        else:
            svc.warehouse.record_audit(event)
        return event
    except Exception:  # the user's action stands whatever happens to its record; the log says why
        log.exception("audit: could not record %s on %r (%s)", action, str(subject)[:200], outcome)
        return None
