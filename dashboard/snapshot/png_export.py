"""The PNG export of the report's figures: kaleido 1.x driving a local Chromium, never the network."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from cityops.base.errors import CityopsError

Exporter = Callable[[Sequence[tuple[Path, go.Figure, int, int]]], None]


class PngExportError(CityopsError):
    """The PNG export cannot run (no browser, the browser failed, a figure timed out)."""


def find_browser(settings: Any) -> str | None:
    """The Chromium for the PNG export: ``snapshots.browser``, else the first one on PATH. Never downloads."""
    configured = settings.snapshots.browser
    if configured is not None:
        return str(configured)
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def kaleido_exporter(browser: str | None, *, timeout: float = 60.0) -> Exporter:
    """Export figures to PNG with kaleido 1.x driving ``browser`` (one browser for all figures).

    MathJax is off (kaleido would load it from a CDN) and plotly.js comes from the installed plotly
    package, so the export makes no network request. Raises :class:`PngExportError`."""

    def export(jobs: Sequence[tuple[Path, go.Figure, int, int]]) -> None:
        if browser is None:
            raise PngExportError(
                "no Chromium found for the PNG export",
                hint="install it (apt-get install chromium) or set snapshots.browser",
            )
        if not Path(browser).exists():
            raise PngExportError(
                f"the browser {browser} for the PNG export does not exist",
                hint="install chromium or fix snapshots.browser",
            )

        async def run() -> None:
            from kaleido import Kaleido

            async with Kaleido(n=1, timeout=timeout, mathjax=False, path=browser, headless=True) as k:
                for path, fig, width, height in jobs:
                    data = await k.calc_fig(
                        fig, opts={"format": "png", "width": width, "height": height, "scale": 1}
                    )
                    path.write_bytes(data)

        failure: list[BaseException] = []

        def thread() -> None:  # its own event loop, whatever the caller runs (Dash, Playwright, APScheduler)
            try:
                asyncio.run(run())
            except BaseException as exc:
                failure.append(exc)

        worker = threading.Thread(target=thread, name="cityops-png-export", daemon=True)
        worker.start()
        worker.join(timeout * (len(jobs) + 2))
        if worker.is_alive():
            raise PngExportError(f"the PNG export did not finish within {timeout * (len(jobs) + 2):.0f} s")
        if failure:
            exc = failure[0]
            raise PngExportError(
                f"the PNG export failed: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
            ) from None

    return export
