"""The automated daily warning snapshot: a self-contained, archived, reproducible report of one day.

The day
-------
The report **for** day D covers the 24 hours that end at the cut-off on D, in the city's timezone:
with the default cut-off 08:00 (``snapshots.cut_off``), the report for 2026-06-15 covers
2026-06-14 08:00 → 2026-06-15 08:00 local, the night shift's handover time. Warnings and their
transitions count when they happened in [start, end); observations when stamped in (start, end] (a
stamp marks the end of its interval, so the 08:00 rain reading is the last of the day). The daily
AQI is the 日报 of the last complete calendar day at the cut-off (D−1), by the HJ 633 edition in force
on that day, because the daily report is defined per calendar day.

Layout
------
``<data_dir>/snapshots/YYYY-MM-DD/`` (or ``<out>/YYYY-MM-DD/``)::

    report.html          self-contained: plotly.js embedded once, no external URL
    summary.png          the one-page summary image
    summary.json         headline numbers, the day's warnings, per-domain summary, feed health, status
    figures/<name>.png   one image per figure
    data/<name>.parquet  the rows behind each figure
    manifest.json        SHA-256 of every file, rule-pack version, feed-health table, status

Reproducible: the data files and ``summary.json`` contain no wall-clock time, so rendering the same
day twice from the same warehouse gives byte-identical files (and identical manifest entries for
them); the render time is only in ``manifest.json``'s ``rendered_at`` and the warehouse record.

Fails loudly: a query error in the warnings section marks the snapshot ``failed``; a domain with a
configured feed but no data, a query error in a domain section, or a PNG export that cannot run
(no browser) marks it ``partial``; the reason is in the result, ``summary.json``, ``manifest.json``,
the report's banner and the warehouse's ``snapshot`` table. A day without warnings is not an error:
the report says so.

:func:`render_snapshot` is what the CLI (`cityops snapshot`), the scheduled job ``snapshot:daily`` and
the ``/snapshots`` page call; :func:`deliver_snapshot` sends a rendered day to the notification
targets whose events include ``snapshot``.

The modules, in the order a render uses them:

- :mod:`.window` — the window of a day and its report folder;
- :mod:`.report` — the report while it is built (names, problems, figures), and the sections
  :mod:`.warnings_section`, :mod:`.domains_section`, :mod:`.feeds_section`;
- :mod:`.summary` — headline numbers, ``summary.json`` and the summary image's figure;
- :mod:`.png_export` — the PNG export (kaleido + a local Chromium);
- :mod:`.html_report` and ``templates/`` — ``report.html``;
- :mod:`.archive` — the files, the manifest and the warehouse record; :mod:`.render` runs it all;
- :mod:`.delivery` — the notification of a rendered day.
"""

from __future__ import annotations

from dashboard.snapshot.delivery import deliver_snapshot, snapshot_notification
from dashboard.snapshot.html_report import report_external_urls
from dashboard.snapshot.png_export import Exporter, PngExportError, find_browser, kaleido_exporter
from dashboard.snapshot.render import render_snapshot
from dashboard.snapshot.result import STATUSES, SnapshotResult
from dashboard.snapshot.window import SnapshotWindow, last_complete_day, snapshot_dir, snapshot_window

__all__ = [
    "STATUSES",
    "Exporter",
    "PngExportError",
    "SnapshotResult",
    "SnapshotWindow",
    "deliver_snapshot",
    "find_browser",
    "kaleido_exporter",
    "last_complete_day",
    "render_snapshot",
    "report_external_urls",
    "snapshot_dir",
    "snapshot_notification",
    "snapshot_window",
]
