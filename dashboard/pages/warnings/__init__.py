"""/warnings — the duty operators' console: every warning with its evidence, and the actions on it.

The grid lists warnings (open ones first, most severe first) with filters; ``?id=W…`` opens one
(notifications link there) and selecting a row rewrites the URL in place, so a view can be shared.
The detail shows the rule and its citation, the contributing points on a small offline map, the
warned metric's series with its thresholds (and, for predictions, the expected crossing), and the
audit trail.

Actions (acknowledge, assign, comment, resolve, silence) are shown only to principals whose role may
perform them, and :func:`perform_action` checks the role again on the server before anything changes:
hiding a button is courtesy, the check is the callback's.

The rooms: :mod:`.ids` (component ids), :mod:`.values` (a warning's values as shown), :mod:`.grid`
(filters, list, selection), :mod:`.detail` (facts, rule, audit trail), :mod:`.evidence` (map and
series), :mod:`.actions` (the form and the callback that changes state). This module lays out the
page and registers it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import dash
from dash import Input, Output, State, dcc, html

from dashboard.components import build_header, build_nav
from dashboard.i18n import t
from dashboard.pages.warnings import actions, detail, evidence, grid
from dashboard.pages.warnings.actions import build_actions_panel, build_message, perform_action
from dashboard.pages.warnings.detail import build_audit, build_detail, build_detail_main
from dashboard.pages.warnings.evidence import build_evidence_panel
from dashboard.pages.warnings.grid import build_list, build_rows, filter_warnings, order_warnings
from dashboard.pages.warnings.ids import (
    ID_CLOCK,
    ID_INTERVAL,
    ID_LANG,
    ID_LANG_LINK,
    ID_SELECTED,
    ID_VERSION,
)

# The names other modules and the tests import from here.
__all__ = [
    "build_audit",
    "build_detail",
    "build_rows",
    "filter_warnings",
    "layout",
    "order_warnings",
    "perform_action",
    "register",
]


def layout(lang: str = "zh", id: str | None = None, **_: Any) -> html.Div:
    from dashboard.auth import current_principal
    from dashboard.services import services

    lang = lang if lang in ("zh", "en") else "zh"
    principal = current_principal()
    svc = services()
    other = "en" if lang == "zh" else "zh"
    selected = id if isinstance(id, str) and id else None
    return html.Div(
        [
            dcc.Store(id=ID_LANG, data=lang),
            dcc.Store(id=ID_SELECTED, data=selected),
            dcc.Store(id=ID_VERSION, data=0),
            dcc.Interval(id=ID_INTERVAL, interval=10_000),
            build_nav(
                "/warnings", lang, principal, f"?lang={lang}" + (f"&id={quote(selected)}" if selected else "")
            ),
            build_header(
                t("warnings.title", lang),
                lang,
                f"/warnings?lang={other}" + (f"&id={selected}" if selected else ""),
                clock_id=ID_CLOCK,
                switch_id=ID_LANG_LINK,
            ),
            *build_list(lang, svc, selected),
            html.Div(
                [
                    build_detail_main(lang),
                    html.Div(
                        [build_actions_panel(principal, lang), build_message(), build_evidence_panel(lang)],
                        className="detail-side",
                    ),
                ],
                className="warnings-detail-area",
            ),
        ],
        className="page warnings-page",
    )


# The URL follows the selection in place (no navigation: the page, its filters and grid stay), and the
# language link keeps the selection.
URL_SYNC = """function(selected, lang) {
    var p = new URLSearchParams(window.location.search);
    if (selected) { p.set("id", selected); } else { p.delete("id"); }
    var qs = p.toString();
    var url = window.location.pathname + (qs ? "?" + qs : "");
    if (url !== window.location.pathname + window.location.search) {
        window.history.replaceState(null, "", url);
    }
    p.set("lang", lang === "en" ? "zh" : "en");
    return window.location.pathname + "?" + p.toString();
}"""


def register(app: dash.Dash) -> None:
    """Register the page and its callbacks on ``app``."""
    dash.register_page(__name__, path="/warnings", title="预警处置 · cityops", layout=layout)
    grid.register_callbacks(app)
    detail.register_callbacks(app)
    evidence.register_callbacks(app)
    actions.register_callbacks(app)
    app.clientside_callback(
        URL_SYNC, Output(ID_LANG_LINK, "href"), Input(ID_SELECTED, "data"), State(ID_LANG, "data")
    )
