"""The list of warnings on /warnings: the filters, the grid, and the callbacks that fill it and follow its
selection. Open warnings come first, then the most severe, then the most recent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import dash
import dash_ag_grid as dag
import pandas as pd
from dash import Input, Output, State, dcc, html

from cityops.base.times import aware_utc, local_text
from dashboard.i18n import t, t_or
from dashboard.pages.warnings.ids import (
    ID_CLOCK,
    ID_COUNT,
    ID_DATES,
    ID_DISTRICT,
    ID_DOMAIN,
    ID_GRID,
    ID_INTERVAL,
    ID_LANG,
    ID_LEVEL,
    ID_RANGE,
    ID_SELECTED,
    ID_STATE,
    ID_VERSION,
)
from dashboard.pages.warnings.values import (
    LEVEL_CLASS,
    STATES,
    cell_text,
    dropdown_labels,
    format_age,
    level_text,
    place_text,
    since_of,
    state_text,
    summary_text,
    title_text,
    value_text,
)
from metrics.warnings.lifecycle import OPEN_STATES
from metrics.warnings.rules import Rule

if TYPE_CHECKING:
    from dashboard.services import Services

RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}


def range_bounds(
    choice: str | None, start_date: str | None, end_date: str | None, now: datetime, tz: str
) -> tuple[datetime | None, datetime | None]:
    """UTC bounds of the chosen time range (custom: local calendar days, end day included)."""
    if choice in RANGES:
        return now - RANGES[choice], None
    if choice == "custom":
        zone = ZoneInfo(tz)
        lo = (
            datetime.fromisoformat(start_date[:10]).replace(tzinfo=zone).astimezone(UTC)
            if start_date
            else None
        )
        hi = (
            (datetime.fromisoformat(end_date[:10]) + timedelta(days=1)).replace(tzinfo=zone).astimezone(UTC)
            if end_date
            else None
        )
        return lo, hi
    return None, None


def filter_warnings(
    frame: pd.DataFrame,
    *,
    levels: Sequence[int] | None = None,
    states: Sequence[str] | None = None,
    domains: Sequence[str] | None = None,
    districts: Sequence[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> pd.DataFrame:
    """The warnings matching every given filter (an empty or None filter lets everything through).

    A warning is in the time range when it was open at some moment of it: raised before the end, and
    still open or resolved after the start."""
    if frame.empty:
        return frame
    keep = pd.Series(True, index=frame.index)
    if levels:
        keep &= frame["level"].astype(int).isin([int(v) for v in levels])
    if states:
        keep &= frame["state"].isin(list(states))
    if domains:
        keep &= frame["domain"].isin(list(domains))
    if districts:
        keep &= frame["district_code"].isin(list(districts))

    def utc(col: str) -> pd.Series:
        return (
            pd.to_datetime(frame[col]).dt.tz_localize("UTC")
            if pd.to_datetime(frame[col]).dt.tz is None
            else frame[col]
        )

    if start is not None:
        resolved = utc("resolved_at")
        keep &= resolved.isna() | (resolved >= pd.Timestamp(start))
    if end is not None:
        keep &= utc("created_at") < pd.Timestamp(end)
    return frame[keep]


def order_warnings(frame: pd.DataFrame) -> pd.DataFrame:
    """Open warnings first, then the most severe, then the most recent."""
    if frame.empty:
        return frame
    since = pd.to_datetime(frame["activated_at"]).fillna(pd.to_datetime(frame["created_at"]))
    keyed = frame.assign(_closed=~frame["state"].isin(OPEN_STATES), _since=since)
    return keyed.sort_values(
        ["_closed", "level", "_since"], ascending=[True, True, False], kind="stable"
    ).drop(columns=["_closed", "_since"])


def build_rows(
    frame: pd.DataFrame,
    *,
    now: datetime,
    tz: str,
    lang: str,
    names: Mapping[str, str],
    units: Mapping[str, str] | None = None,
    rules: Mapping[str, Rule] | None = None,
) -> list[dict[str, Any]]:
    """Grid rows (plain values: the grid renders every cell as text, never as HTML)."""
    units = units or {}
    rules = rules or {}
    rows = []
    for rec in frame.to_dict("records"):
        level = int(rec["level"])
        since = since_of(rec)
        until = aware_utc(rec.get("resolved_at")) or now
        rows.append(
            {
                "id": rec["warning_id"],
                "level": level,
                "level_text": level_text(level, lang),
                "level_class": LEVEL_CLASS.get(level, ""),
                "title": title_text(rec, lang, rules.get(cell_text(rec.get("rule_id")))),
                "rule_id": cell_text(rec.get("rule_id")),
                "place": place_text(rec, names),
                "domain": cell_text(rec.get("domain")),
                "state": rec["state"],
                "state_text": state_text(rec["state"], lang),
                "open": rec["state"] in OPEN_STATES,
                "since": local_text(since, tz),
                "since_iso": "" if since is None else since.astimezone(ZoneInfo(tz)).isoformat(),
                "age": format_age(until - since) if since else "—",
                "acked_by": cell_text(rec.get("acknowledged_by")),
                "assignee": cell_text(rec.get("assignee")),
                "value": value_text(rec, lang, units.get(cell_text(rec.get("rule_id")), "")),
                "summary": summary_text(rec, lang),
            }
        )
    return rows


def column_defs(lang: str) -> list[dict[str, Any]]:
    level_rules = {f"wl-level {cls}": f"params.data.level === {n}" for n, cls in LEVEL_CLASS.items()}
    return [
        {
            "field": "level",
            "headerName": t("warnings.col.level", lang),
            "width": 150,
            "cellClassRules": level_rules,
            "valueFormatter": {"function": "params.data.level_text"},
        },
        {
            "field": "title",
            "headerName": t("warnings.col.title", lang),
            "width": 260,
            "tooltipField": "summary",
        },
        {"field": "place", "headerName": t("warnings.col.place", lang), "width": 200},
        {
            "field": "state_text",
            "headerName": t("warnings.col.state", lang),
            "width": 100,
            "cellClassRules": {f"ws-{s}": f"params.data.state === '{s}'" for s in STATES},
        },
        {
            "field": "since_iso",
            "headerName": t("warnings.col.since", lang),
            "width": 120,
            "valueFormatter": {"function": "params.data.since"},
        },
        {"field": "age", "headerName": t("warnings.col.age", lang), "width": 90},
        {"field": "acked_by", "headerName": t("warnings.col.acked_by", lang), "width": 170},
        {"field": "assignee", "headerName": t("warnings.col.assignee", lang), "width": 130},
        {
            "field": "value",
            "headerName": t("warnings.col.value", lang),
            "width": 280,
            "tooltipField": "value",
        },
        {
            "field": "summary",
            "headerName": t("warnings.col.summary", lang),
            "flex": 1,
            "minWidth": 240,
            "tooltipField": "summary",
        },
    ]


# -- layout ---------------------------------------------------------------------------------------


def build_filters(lang: str, svc: Services) -> html.Section:
    """Level and state checklists, domain (with its departments) and district pickers, the time range."""
    domains = sorted({f.domain for f in svc.settings.feeds.values()} | set(svc.settings.domains))
    departments: dict[str, set[str]] = {}
    for feed in svc.settings.feeds.values():
        departments.setdefault(feed.domain, set()).add(feed.department)
    domain_options = [
        {
            "label": f"{t_or(f'domain.{d}', lang, d)} · {'、'.join(sorted(departments.get(d, [])))}"
            if departments.get(d)
            else t_or(f"domain.{d}", lang, d),
            "value": d,
        }
        for d in domains
    ]
    districts = svc.warehouse.districts()
    district_options = [
        {"label": n, "value": c} for c, n in zip(districts["code"], districts["name"], strict=True)
    ]
    level_options = [
        {"label": html.Span(level_text(n, lang), className=f"chip {cls}"), "value": n}
        for n, cls in LEVEL_CLASS.items()
    ]
    return html.Section(
        [
            _filter(
                t("warnings.filter.level", lang),
                dcc.Checklist(
                    id=ID_LEVEL,
                    options=level_options,
                    value=list(LEVEL_CLASS),
                    inline=True,
                    className="checks",
                ),
            ),
            _filter(
                t("warnings.filter.state", lang),
                dcc.Checklist(
                    id=ID_STATE,
                    options=[{"label": state_text(s, lang), "value": s} for s in STATES],
                    value=list(STATES),
                    inline=True,
                    className="checks",
                ),
            ),
            _filter(
                t("warnings.filter.domain", lang),
                _pick_many(ID_DOMAIN, domain_options, lang),
                cls="filter filter-wide",
            ),
            _filter(
                t("warnings.filter.district", lang),
                _pick_many(ID_DISTRICT, district_options, lang),
                cls="filter filter-wide",
            ),
            _filter(
                t("warnings.filter.range", lang),
                dcc.RadioItems(
                    id=ID_RANGE,
                    options=[
                        {"label": t(f"warnings.range.{k}", lang), "value": k} for k in (*RANGES, "custom")
                    ],
                    value="24h",
                    inline=True,
                    className="checks",
                ),
                dcc.DatePickerRange(
                    id=ID_DATES,
                    display_format="YYYY-MM-DD",
                    className="dates",
                    start_date_placeholder_text=t("warnings.date.start", lang),
                    end_date_placeholder_text=t("warnings.date.end", lang),
                ),
            ),
        ],
        className="warnings-filters",
    )


def _filter(label: str, *controls: Any, cls: str = "filter") -> html.Div:
    return html.Div([html.Label(label), *controls], className=cls)


def _pick_many(id_: str, options: list[dict[str, Any]], lang: str) -> dcc.Dropdown:
    """A dropdown of several choices; none chosen lets everything through."""
    return dcc.Dropdown(
        id=id_,
        options=options,
        multi=True,
        placeholder=t("warnings.filter.all", lang),
        labels=dropdown_labels(lang),
    )


def build_grid(lang: str, selected: str | None) -> dag.AgGrid:
    """The grid, empty until :func:`refresh_grid` fills it; ``selected`` is preselected (a shared link)."""
    return dag.AgGrid(
        id=ID_GRID,
        columnDefs=column_defs(lang),
        rowData=[],
        getRowId="params.data.id",
        defaultColDef={"resizable": True, "sortable": True, "suppressMovable": True},
        rowClassRules={"wl-row-closed": "!params.data.open"},
        dashGridOptions={
            "rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True},
            "rowHeight": 36,
            "headerHeight": 38,
            "tooltipShowDelay": 300,
            "localeText": {"noRowsToShow": t("warnings.none", lang)},
            "animateRows": False,
        },
        selectedRows={"ids": [selected]} if selected else [],
        className="warnings-grid",
        # its height follows the viewport (console.css): the grid fills the page below the filters
        style={"height": None},
    )


def build_list(lang: str, svc: Services, selected: str | None) -> list[Any]:
    """The filters, the count line and the grid, in page order."""
    return [
        build_filters(lang, svc),
        html.Div(id=ID_COUNT, className="warnings-count"),
        build_grid(lang, selected),
    ]


# -- callbacks ------------------------------------------------------------------------------------


def refresh_grid(
    _n: int | None,
    _version: int | None,
    levels: list[int] | None,
    states: list[str] | None,
    domains: list[str] | None,
    districts: list[str] | None,
    choice: str | None,
    start_date: str | None,
    end_date: str | None,
    selected: str | None,
    lang: str | None,
) -> tuple[Any, ...]:
    from dashboard.services import services

    svc = services()
    lang = lang or "zh"
    tz = svc.settings.city.timezone
    now = svc.now()
    start, end = range_bounds(choice, start_date, end_date, now, tz)
    frame = svc.warehouse.warnings(since=start, limit=5000)
    shown = order_warnings(
        filter_warnings(
            frame, levels=levels, states=states, domains=domains, districts=districts, start=start, end=end
        )
    )
    districts_frame = svc.warehouse.districts()
    names = dict(zip(districts_frame["code"], districts_frame["name"], strict=True))
    pack = getattr(svc.alerting, "pack", None)
    units = {r.id: r.unit for r in pack.rules} if pack is not None else {}
    rules = {r.id: r for r in pack.rules} if pack is not None else {}
    rows = build_rows(shown, now=now, tz=tz, lang=lang, names=names, units=units, rules=rules)
    n_open = sum(1 for r in rows if r["open"])
    chosen = {"ids": [selected]} if selected and any(r["id"] == selected for r in rows) else dash.no_update
    from dashboard.freshness import freshness_text, newest_observation

    # the time and age of the newest data the warnings were evaluated on, not the clock's
    clock = freshness_text(svc, newest_observation(svc), lang)
    return rows, t("warnings.count", lang).format(n=len(rows), open=n_open), clock, chosen


def select_row(selected_rows: list[dict[str, Any]] | None, current: str | None) -> Any:
    """The selected warning follows the grid's selection (an emptied selection keeps the detail)."""
    if not selected_rows or not isinstance(selected_rows, list):
        return dash.no_update
    chosen = selected_rows[0].get("id")
    return chosen if chosen and chosen != current else dash.no_update


def register_callbacks(app: dash.Dash) -> None:
    """The grid follows the filters, the clock and every change; the selection follows the grid."""
    app.callback(
        Output(ID_GRID, "rowData"),
        Output(ID_COUNT, "children"),
        Output(ID_CLOCK, "children"),
        Output(ID_GRID, "selectedRows"),
        Input(ID_INTERVAL, "n_intervals"),
        Input(ID_VERSION, "data"),
        Input(ID_LEVEL, "value"),
        Input(ID_STATE, "value"),
        Input(ID_DOMAIN, "value"),
        Input(ID_DISTRICT, "value"),
        Input(ID_RANGE, "value"),
        Input(ID_DATES, "start_date"),
        Input(ID_DATES, "end_date"),
        State(ID_SELECTED, "data"),
        State(ID_LANG, "data"),
    )(refresh_grid)
    app.callback(
        Output(ID_SELECTED, "data"),
        Input(ID_GRID, "selectedRows"),
        State(ID_SELECTED, "data"),
        prevent_initial_call=True,
    )(select_row)
