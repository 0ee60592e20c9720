"""What the pickers offer and show, given the catalog (pure)."""

from __future__ import annotations

from typing import Any

from dashboard.explore.catalog import INCIDENT_METRIC, Catalog
from dashboard.explore.view import ExploreState
from dashboard.i18n import t, t_or

_HIDDEN = {"display": "none"}
_SHOWN = {"display": "flex"}


def dates_style(rng: str) -> dict[str, str]:
    """The custom range's date pickers are shown only for ``custom``."""
    return _SHOWN if rng == "custom" else _HIDDEN


def iso_day(value: Any) -> str | None:
    """A date picker's value as ``YYYY-MM-DD`` (it may carry a time), or ``None``."""
    return str(value)[:10] if value else None


def domain_options(catalog: Catalog, lang: str) -> list[dict[str, str]]:
    return [
        {"label": t_or(f"domain.{name}", lang, d.label), "value": name} for name, d in catalog.domains.items()
    ]


def metric_options(catalog: Catalog, domain: str, lang: str) -> list[dict[str, str]]:
    if domain == "incident":
        return [{"label": t("explore.metric.count", lang), "value": INCIDENT_METRIC}]
    d = catalog.domains[domain]
    out = []
    for name in d.values:
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
