"""The state → the four charts, the status line, the export links and the language link."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from dashboard.explore.catalog import Catalog, load_catalog, resolve_state
from dashboard.explore.data import ExploreData, load_explore_data
from dashboard.explore.view import ExploreState, decode_state, encode_state
from dashboard.freshness import freshness_text
from dashboard.i18n import t, t_or
from dashboard.pages.explore.options import metric_label


def build_figures(data: ExploreData, catalog: Catalog) -> tuple[Any, Any, Any, Any]:
    """The four charts of the explorer for loaded data (pure)."""
    from dashboard.figures.explore import (
        build_compare_figure,
        build_distribution_figure,
        build_heatmap_figure,
        build_series_figure,
    )

    st = data.state
    lang = st.lang
    place = data.label or t("explore.city", lang)
    label = metric_label(catalog, st, lang)
    domain = t_or(f"domain.{st.domain}", lang, catalog.domains[st.domain].label)
    head = f"{domain} · {label} · {place}"
    return (
        build_series_figure(
            data.series,
            data.thresholds,
            title=f"{t('explore.series', lang)} — {head}",
            metric_label=label,
            unit=data.unit,
            lang=lang,
        ),
        build_distribution_figure(
            data.series,
            data.thresholds,
            title=f"{t('explore.distribution', lang)} — {head}",
            metric_label=label,
            unit=data.unit,
            lang=lang,
        ),
        build_heatmap_figure(
            data.heatmap, title=f"{t('explore.heatmap', lang)} — {head}", unit=data.unit, lang=lang
        ),
        build_compare_figure(
            data.compare,
            title=f"{t('explore.compare', lang)} — "
            f"{data.label if st.district and not st.entity else _district_name(catalog, st)}",
            lang=lang,
        ),
    )


def _district_name(catalog: Catalog, state: ExploreState) -> str:
    row = catalog.district(state.district)
    if row is not None:
        return str(
            row["name_en"] if state.lang == "en" and isinstance(row.get("name_en"), str) else row["name"]
        )
    return t("explore.city", state.lang)


def render(qs: str | None) -> tuple[Any, ...]:
    """The state → the charts, the status line, the export links and the language link."""
    from dashboard.services import services

    svc = services()
    catalog = load_catalog(svc)
    state = resolve_state(decode_state(qs), catalog)
    data = load_explore_data(svc, state, catalog)
    series, dist, heat, compare = build_figures(data, catalog)
    lang = state.lang
    start, end = svc.local(data.start), svc.local(data.end)
    status = (
        f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} · {t('explore.status', lang)}: "
        f"{t(f'explore.resolution.{data.resolution}', lang)}, {len(data.series)} {t('explore.points', lang)}"
    )
    q = encode_state(state)
    other = replace(state, lang="en" if lang == "zh" else "zh")
    return (
        series,
        dist,
        heat,
        compare,
        status,
        freshness_text(svc, data.newest, lang),
        f"/explore/export.csv?{q}",
        f"/explore/export.parquet?{q}",
        f"/explore?{encode_state(other)}",
    )
