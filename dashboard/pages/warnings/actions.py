"""The actions on a warning (acknowledge, assign, comment, resolve, silence): the form, and the callback
that changes state.

The form shows only the buttons the principal's role may press, and :func:`perform_action` checks the
role again on the server before anything changes: hiding a button is courtesy, the check is the
callback's (a request posted straight to Dash meets the same check)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import dash
from dash import ALL, Input, Output, State, dcc, html

from cityops.base.auth import PERMISSIONS, PermissionDenied, Principal, require
from dashboard.i18n import t
from dashboard.pages.warnings.ids import (
    ID_ACTIONS,
    ID_LANG,
    ID_MESSAGE,
    ID_SELECTED,
    ID_VERSION,
    act_id,
    field_id,
)
from dashboard.pages.warnings.values import dropdown_labels
from metrics.warnings.lifecycle import OPEN_STATES, ActionError

ACTIONS = ("acknowledge", "assign", "comment", "resolve", "silence")
SILENCES = {"1h": timedelta(hours=1), "4h": timedelta(hours=4), "24h": timedelta(hours=24)}


def applicable(action: str, state: str) -> bool:
    """Whether an action applies to a warning in ``state`` (the lifecycle decides; this greys buttons)."""
    if action == "acknowledge":
        return state == "active"
    if action == "comment":
        return True
    return state in OPEN_STATES


def actor_of(principal: Principal) -> str:
    """The audit trail's actor: the display name and the sign-in name, e.g. ``值班员（演示）(duty)``."""
    if principal.label == principal.name:
        return principal.name
    gap = "" if principal.label.endswith(("）", "」", "】")) else " "  # no space after a full-width bracket
    return f"{principal.label}{gap}({principal.name})"


def _silence_until(choice: str | None, until: str | None, now: datetime, tz: str) -> datetime | None:
    if choice in SILENCES:
        return now + SILENCES[choice]
    if not until:
        return None
    try:
        local = datetime.fromisoformat(until)
    except ValueError:
        return None
    return (local if local.tzinfo else local.replace(tzinfo=ZoneInfo(tz))).astimezone(UTC)


def _message(text: str, ok: bool) -> html.Div:
    return html.Div(text, className="msg ok" if ok else "msg error", role="status" if ok else "alert")


# -- layout ---------------------------------------------------------------------------------------


def build_actions_panel(principal: Principal, lang: str) -> html.Section:
    """The action form, with a button for each action the principal's role may perform (none: a hint)."""
    allowed = [a for a in ACTIONS if principal.can(a)]
    if not allowed:
        return html.Section(
            html.P(t("warnings.actions.sign_in", lang), className="empty"),
            id=ID_ACTIONS,
            className="warnings-actions",
        )

    def buttons(*actions: str) -> list[html.Button]:
        return [
            html.Button(
                t(f"warnings.action.{a}", lang),
                id=act_id(a),
                n_clicks=0,
                className=f"act act-{a}",
                disabled=True,
            )
            for a in actions
            if a in allowed
        ]

    silence_options = [{"label": t(f"warnings.silence.{k}", lang), "value": k} for k in (*SILENCES, "until")]
    return html.Section(
        [
            html.H3(t("warnings.actions", lang)),
            dcc.Textarea(
                id=field_id("note"), placeholder=t("warnings.field.note", lang), className="note", value=""
            ),
            html.Div(buttons("acknowledge", "comment", "resolve"), className="act-row"),
            html.Div(
                [
                    dcc.Input(
                        id=field_id("assignee"),
                        placeholder=t("warnings.field.assignee", lang),
                        value="",
                        className="text",
                    ),
                    *buttons("assign"),
                ],
                className="act-row",
            ),
            html.Div(
                [
                    html.Label(t("warnings.field.silence_for", lang)),
                    dcc.Dropdown(
                        id=field_id("silence_for"),
                        options=silence_options,
                        value="1h",
                        clearable=False,
                        className="silence-for",
                        labels=dropdown_labels(lang),
                    ),
                    dcc.Input(
                        id=field_id("silence_until"),
                        # dcc.Input hands `type` to the browser's <input>; its annotation lists only the
                        # types Dash documents, and the browser's own date-time picker is the one we want.
                        type="datetime-local",  # type: ignore[arg-type]
                        value="",
                        className="text until",
                    ),
                    *buttons("silence"),
                ],
                className="act-row",
            ),
        ],
        id=ID_ACTIONS,
        className="warnings-actions",
    )


def build_message() -> html.Div:
    """Where the outcome of an action is announced (a refusal as an alert)."""
    return html.Div(id=ID_MESSAGE, role="status", className="warnings-message")


# -- callbacks ------------------------------------------------------------------------------------


def perform_action(
    action: str,
    warning_id: str | None,
    *,
    note: str = "",
    assignee: str = "",
    silence_for: str | None = "1h",
    silence_until: str | None = None,
    lang: str = "zh",
) -> tuple[html.Div, bool]:
    """Do ``action`` on the warning as the request's principal, after checking the role here, on the
    server. Returns the message to show and whether anything changed (a refusal changes nothing)."""
    from dashboard.audit_trail import record
    from dashboard.auth import current_principal
    from dashboard.services import services

    principal = current_principal()
    if action not in PERMISSIONS or action not in ACTIONS:
        return _message(t("warnings.refused", lang).format(reason=action), False), False
    try:
        require(principal, action)
    except PermissionDenied:
        record(f"warning.{action}", warning_id or "", outcome="refused")
        who = principal.label or t("auth.anonymous", lang)
        return _message(
            t("warnings.denied", lang).format(action=t(f"warnings.action.{action}", lang), who=who), False
        ), False
    if not warning_id:
        return _message(t("warnings.no_selection", lang), False), False
    svc = services()
    until = None
    if action == "silence":
        until = _silence_until(silence_for, silence_until, svc.now(), svc.settings.city.timezone)
        if until is None:
            return _message(t("warnings.bad_until", lang), False), False
    try:
        svc.engine().act(
            warning_id,
            action,
            actor_of(principal),
            note=(note or "").strip(),
            assignee=assignee or "",
            until=until,
        )
    except ActionError as exc:
        record(f"warning.{action}", warning_id, outcome="failed", reason=str(exc))
        return _message(t("warnings.refused", lang).format(reason=str(exc)), False), False
    record(f"warning.{action}", warning_id, note=(note or "").strip(), assignee=assignee or "", until=until)
    return _message(t(f"warnings.done.{action}", lang).format(id=warning_id), True), True


def on_action(
    _clicks: list[int | None],
    values: list[Any],
    ids: list[dict[str, str]],
    warning_id: str | None,
    lang: str | None,
    version: int | None,
) -> tuple[Any, Any, list[Any]]:
    """The buttons' callback: which one was pressed, then :func:`perform_action`."""
    trigger = dash.ctx.triggered_id
    if not isinstance(trigger, dict) or not any(c for c in (_clicks or []) if c):
        return dash.no_update, dash.no_update, [dash.no_update] * len(ids)
    fields = {i["name"]: v for i, v in zip(ids, values, strict=True)}
    message, changed = perform_action(
        str(trigger.get("action")),
        warning_id,
        note=fields.get("note") or "",
        assignee=fields.get("assignee") or "",
        silence_for=fields.get("silence_for"),
        silence_until=fields.get("silence_until"),
        lang=lang or "zh",
    )
    cleared = ["" if changed and i["name"] == "note" else dash.no_update for i in ids]
    return message, ((version or 0) + 1) if changed else dash.no_update, cleared


def register_callbacks(app: dash.Dash) -> None:
    """A pressed button acts; a change bumps the version, which refreshes the grid, detail and evidence."""
    app.callback(
        Output(ID_MESSAGE, "children"),
        Output(ID_VERSION, "data"),
        Output(field_id(ALL), "value"),
        Input(act_id(ALL), "n_clicks"),
        State(field_id(ALL), "value"),
        State(field_id(ALL), "id"),
        State(ID_SELECTED, "data"),
        State(ID_LANG, "data"),
        State(ID_VERSION, "data"),
        prevent_initial_call=True,
    )(on_action)
