"""Rendering the report of a day: the sections, then the data files, the PNG export, and the archive."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Any

from cityops.base.errors import CityopsError
from dashboard.snapshot.archive import finish_snapshot, prepare_directory, write_data_files
from dashboard.snapshot.domains_section import (
    build_air,
    build_incidents,
    build_rain,
    build_traffic,
    build_water,
)
from dashboard.snapshot.feeds_section import build_feeds
from dashboard.snapshot.png_export import Exporter, PngExportError, find_browser, kaleido_exporter
from dashboard.snapshot.report import Report
from dashboard.snapshot.result import SnapshotResult
from dashboard.snapshot.summary import build_headline, build_summary_image
from dashboard.snapshot.warnings_section import build_map, build_warnings
from dashboard.snapshot.window import snapshot_dir, snapshot_window

# The domain sections in the report's order (after the warnings and their map, before feed health).
DOMAIN_SECTIONS = (
    ("air", build_air),
    ("water", build_water),
    ("rain", build_rain),
    ("traffic", build_traffic),
    ("incidents", build_incidents),
)


def render_snapshot(
    rt: Any,
    day: date,
    *,
    out_dir: Path | None = None,
    pack: Any | None = None,
    trigger: str = "manual",
    lang: str = "zh",
    exporter: Exporter | None = None,
) -> SnapshotResult:
    """Render the report of ``day`` (see :mod:`dashboard.snapshot`) and record it in the warehouse.

    ``pack``: the rule pack whose version the manifest names (default: the configured packs as of
    ``day``); ``exporter``: the PNG exporter (default kaleido with :func:`find_browser`). Never raises
    for a data or export problem: the result's status and reason say what went wrong."""
    started = time.monotonic()
    settings = rt.settings
    window = snapshot_window(day, settings.city.timezone, settings.snapshots.cut_off_time)
    directory = snapshot_dir(settings, day, out_dir)
    pack_version: str | None = getattr(pack, "version", None)
    pack_problem: str | None = None
    if pack is None and settings.warnings.packs:
        from cityops.alerting import load_rule_pack

        try:
            pack_version = load_rule_pack(settings, today=day).version
        except CityopsError as exc:
            pack_problem = f"rule pack: {exc.message}"
    rep = Report(rt, window, lang, pack_version)
    if pack_problem:
        rep.problems.partial.append(pack_problem)
    rep.section("warnings", build_warnings, fatal=True)
    if rep.touched is not None:
        rep.section("map", build_map)
    for name, build in DOMAIN_SECTIONS:
        rep.section(name, build)
    rep.section("feeds", build_feeds)

    refused = prepare_directory(directory)
    if refused:
        rep.problems.fatal.append(refused)
        return finish_snapshot(rt, rep, directory, [], trigger, started, write=False)
    figures = rep.figures
    headline = build_headline(rep)
    files = write_data_files(directory, figures)

    # PNG export: each figure and the one-page summary.
    jobs = [(directory / "figures" / f"{f.name}.png", f.fig, f.width, f.height) for f in figures]
    summary_image = build_summary_image(rep, headline)
    if summary_image is not None:
        jobs.append((directory / "summary.png", summary_image, 1600, 1080))
    export = exporter or kaleido_exporter(
        find_browser(settings), timeout=settings.snapshots.export_timeout.total_seconds()
    )
    try:
        export(jobs)
    except PngExportError as exc:
        rep.problems.partial.append(
            rep.tr("snapshot.problem.png", reason=exc.message + (f" ({exc.hint})" if exc.hint else ""))
        )
        for path, *_ in jobs:
            path.unlink(missing_ok=True)
    for path, *_ in jobs:
        if path.exists():
            files.append(str(path.relative_to(directory)))
    return finish_snapshot(rt, rep, directory, files, trigger, started, figures=figures, headline=headline)
