"""What the pickers offer and show, given the catalog (pure)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dashboard.explore.catalog import DERIVED_METRICS, INCIDENT_METRIC, Catalog
from dashboard.explore.view import ExploreState, parse_clock
from dashboard.i18n import t, t_or

_HIDDEN = {"display": "none"}
_SHOWN = {"display": "flex"}


def dates_style(rng: str) -> dict[str, str]:
    """The custom range's date pickers are shown only for ``custom``."""
    return _SHOWN if rng == "custom" else _HIDDEN


def iso_day(value: Any) -> str | None:
    """A date picker's value as ``YYYY-MM-DD`` (it may carry a time), or ``None``."""
    return str(value)[:10] if value else None


def clock_text(value: Any) -> str:
    """A custom range bound's time of day for its time input (``HH:MM``), empty for a whole day."""
    return value.strftime("%H:%M") if isinstance(value, datetime) else ""


def moment(day: Any, clock: Any) -> str | None:
    """A date picker's day and a time input's ``HH:MM`` as the URL form of a range bound."""
    d = iso_day(day)
    if d is None:
        return None
    c = parse_clock(str(clock)) if clock else None
    return f"{d}T{c:%H:%M}" if c is not None else d


def domain_options(catalog: Catalog, lang: str) -> list[dict[str, str]]:
    return [
        {"label": t_or(f"domain.{name}", lang, d.label), "value": name} for name, d in catalog.domains.items()
    ]


def metric_options(catalog: Catalog, domain: str, lang: str) -> list[dict[str, str]]:
    if domain == "incident":
        return [{"label": t("explore.metric.count", lang), "value": INCIDENT_METRIC}]
    d = catalog.domains[domain]
    out = []
    for name in catalog.metrics(domain):
        if name in DERIVED_METRICS.get(domain, ()):
            out.append({"label": t(f"explore.metric.{name}", lang), "value": name})
            continue
        col = d.column(name)
        # built-in metrics are translated; a configured department's metric shows its configured label
        label = (
            t_or(f"explore.metric.{name}", lang, col.label or name)
            if d.storage != "long"
            else (col.label or name)
        )
        out.append({"label": f"{label} ({col.unit})" if col.unit else label, "value": name})
    return out


def district_options(catalog: Catalog, lang: str) -> list[dict[str, str]]:
    out = []
    for rec in catalog.districts.to_dict("records"):
        name = rec.get("name_en") if lang == "en" and isinstance(rec.get("name_en"), str) else rec["name"]
        out.append({"label": str(name), "value": rec["code"]})
    return out


def metric_label(catalog: Catalog, state: ExploreState, lang: str) -> str:
    for opt in metric_options(catalog, state.domain, lang):
        if opt["value"] == state.metric:
            return opt["label"].split(" (")[0]
    return state.metric or ""


def notice_lines(notes: list[tuple[str, str]], state: ExploreState, catalog: Catalog) -> list[str]:
    """One sentence per choice of a link the view could not show, naming what it shows instead."""
    lang = state.lang
    out = []
    for key, value in notes:
        if key == "domain":
            shown = t_or(f"domain.{state.domain}", lang, catalog.domains[state.domain].label)
        elif key == "metric":
            shown = metric_label(catalog, state, lang)
        elif key == "district":
            row = catalog.district(state.district)
            shown = t("explore.district.all", lang) if row is None else _district_label(row, lang)
        else:
            ent = catalog.entity(state.entity)
            shown = t("explore.entity.all", lang) if ent is None else str(ent.get("name") or ent["entity_id"])
        out.append(t(f"explore.notice.{key}", lang).format(value=value, shown=shown))
    return out


def _district_label(row: Any, lang: str) -> str:
    return str(row["name_en"] if lang == "en" and isinstance(row.get("name_en"), str) else row["name"])
