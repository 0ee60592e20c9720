"""Coded reasons: a stable code, its parameters and the English/technical detail, in one text.

Used for quarantine reasons (``ingest``) and for the warnings' audit trail (``metrics.warnings``).

A reason is stored as ``[code {"param": ...}] detail``; several reasons are joined with ``"; "``.
Pages translate the code with its parameters into the reader's language (i18n keys
``quarantine.<code>``, ``warnings.reason.<code>``) and keep the detail at hand; a reason without a
code (an older record's) reads as its plain text.

>>> text = make_reason("cell_invalid", "no2: 'NaN' is not a valid number", column="no2", value="NaN")
>>> text
'[cell_invalid {"column": "no2", "value": "NaN"}] no2: \\'NaN\\' is not a valid number'
>>> [(r.code, r.detail) for r in parse_reasons(text + "; " + make_reason("no_value", "no value"))]
[('cell_invalid', "no2: 'NaN' is not a valid number"), ('no_value', 'no value')]
>>> parse_reasons("line 4: 2 fields")
[Reason(code='', detail='line 4: 2 fields', params={})]
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_CODE = re.compile(r"\[([a-z][a-z0-9_]*)(?=[ \]])")
_NEXT = re.compile(r"; (?=\[[a-z][a-z0-9_]*[ \]])")
_DECODER = json.JSONDecoder()
MAX_PARAM_CHARS = 80


@dataclass(frozen=True)
class Reason:
    code: str  # "" for a reason without a code
    detail: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def cell(self) -> bool:
        return self.code.startswith("cell_")


def clip(value: Any, limit: int = MAX_PARAM_CHARS) -> str:
    """A department's value as short text fit for a reason (department data is untrusted: no control
    characters, bounded length)."""
    text = "".join(ch if ch.isprintable() else " " for ch in str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def make_reason(code: str, detail: str, **params: Any) -> str:
    """The stored text of one reason."""
    clean = {k: clip(v) if isinstance(v, str) else v for k, v in params.items()}
    # A department's text must not read as the start of another reason: ';' never occurs in JSON
    # outside strings, so it is escaped there, and in the detail "; [" loses its space.
    encoded = json.dumps(clean, ensure_ascii=False, sort_keys=True).replace(";", "\\u003b")
    head = f"[{code} {encoded}]" if clean else f"[{code}]"
    return f"{head} {detail.replace('; [', ';[')}"


def parse_reasons(text: str) -> list[Reason]:
    """The reasons of a stored ``quarantine.reason`` text, in order."""
    out: list[Reason] = []
    for part in _NEXT.split(text or ""):
        match = _CODE.match(part)
        if not match:
            out.append(Reason("", part))
            continue
        pos = match.end()
        params: dict[str, Any] = {}
        if part.startswith(" {", pos):
            try:
                obj, end = _DECODER.raw_decode(part, pos + 1)
            except json.JSONDecodeError:
                out.append(Reason("", part))
                continue
            if isinstance(obj, dict):
                params = obj
            pos = end
        if not part.startswith("]", pos):
            out.append(Reason("", part))
            continue
        out.append(Reason(match.group(1), part[pos + 1 :].lstrip(), params))
    return out
