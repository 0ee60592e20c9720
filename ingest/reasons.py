"""Quarantine reasons: a stable code, its parameters and the English/technical detail, in one text.

The codec lives in :mod:`metrics.reasons` (the warnings' audit trail codes its reasons the same way);
this module is where ingest takes it from. A reason is stored in ``quarantine.reason`` as
``[code {"param": ...}] detail``; several reasons of one row are joined with ``"; "``. Pages translate
the code with its parameters (i18n key ``quarantine.<code>``); a reason without a code (an older
run's) reads as its plain text. Codes that start with ``cell_`` concern one cell: the value was stored
as null and the rest of the row landed. Every other code quarantined the whole row.
"""

from __future__ import annotations

from metrics.reasons import MAX_PARAM_CHARS, Reason, clip, make_reason, parse_reasons

__all__ = ["MAX_PARAM_CHARS", "Reason", "clip", "make_reason", "parse_reasons"]
