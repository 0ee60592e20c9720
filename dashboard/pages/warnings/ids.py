"""The component ids of /warnings, in one place: constants, and functions for the pattern-matching ids of
the action buttons and form fields (``act_id(ALL)`` addresses every button at once)."""

from __future__ import annotations

from dash.dependencies import Wildcard

PREFIX = "warnings"
ID_LANG = f"{PREFIX}-lang"
ID_INTERVAL = f"{PREFIX}-interval"
ID_SELECTED = f"{PREFIX}-selected"
ID_VERSION = f"{PREFIX}-version"
ID_CLOCK = f"{PREFIX}-clock"
ID_LANG_LINK = f"{PREFIX}-lang-link"
ID_LEVEL = f"{PREFIX}-level"
ID_STATE = f"{PREFIX}-state"
ID_DOMAIN = f"{PREFIX}-domain"
ID_DISTRICT = f"{PREFIX}-district"
ID_RANGE = f"{PREFIX}-range"
ID_DATES = f"{PREFIX}-dates"
ID_COUNT = f"{PREFIX}-count"
ID_GRID = f"{PREFIX}-grid"
ID_DETAIL = f"{PREFIX}-detail"
ID_AUDIT = f"{PREFIX}-audit"
ID_EVIDENCE = f"{PREFIX}-evidence"
ID_MAP = f"{PREFIX}-map"
ID_SERIES = f"{PREFIX}-series"
ID_EVIDENCE_NOTE = f"{PREFIX}-evidence-note"
ID_ACTIONS = f"{PREFIX}-actions"
ID_MESSAGE = f"{PREFIX}-message"
ACT_TYPE = f"{PREFIX}-act"
FIELD_TYPE = f"{PREFIX}-field"


def act_id(action: str | Wildcard) -> dict[str, str | Wildcard]:
    """The id of one action's button (``action`` a wildcard: the buttons present)."""
    return {"type": ACT_TYPE, "action": action}


def field_id(name: str | Wildcard) -> dict[str, str | Wildcard]:
    """The id of one field of the action form (``name`` a wildcard: every field)."""
    return {"type": FIELD_TYPE, "name": name}
