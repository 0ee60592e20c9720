"""The start-up self-check for intranet deployments: list every external URL the configured map,
the assets and the pages would load, and refuse to start (or warn loudly) when the deployment is
marked offline and one is found.

Looked at: Dash's own scripts (they must be served locally, not from a CDN), external scripts and
stylesheets given to the app, every URL inside the files of ``dashboard/assets`` (CSS ``url()``
and ``@import``, JavaScript), and the map style (tile server, glyphs). Loopback and the configured
``map.allowed_hosts`` are not external.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cityops.base.errors import CityopsError
from cityops.base.settings import Settings
from geo.styles import external_urls, offline_style

log = logging.getLogger("dashboard.offline")


@dataclass(frozen=True)
class ExternalUrl:
    where: str
    url: str

    def __str__(self) -> str:
        return f"{self.where}: {self.url}"


class OfflineCheckError(CityopsError):
    """The deployment is offline but something would load from outside."""


def map_style(settings: Settings, glyphs_url: str = "/map/glyphs/{fontstack}/{range}.pbf") -> dict[str, Any]:
    return offline_style(glyphs_url, tile_url=settings.map.tile_url)


def find_external_urls(
    settings: Settings, app: Any | None = None, assets: Path | None = None
) -> list[ExternalUrl]:
    allowed = settings.map.allowed_hosts
    found = [ExternalUrl("map style", u) for u in external_urls(map_style(settings), allowed_hosts=allowed)]
    if app is not None:
        if not app.config.get("serve_locally", True) or not getattr(
            app.scripts.config, "serve_locally", True
        ):
            found.append(ExternalUrl("dash", "scripts are served from a CDN (serve_locally is off)"))
        for kind in ("external_scripts", "external_stylesheets"):
            for item in app.config.get(kind) or []:
                src = item if isinstance(item, str) else item.get("src") or item.get("href") or ""
                found += [ExternalUrl(f"dash {kind}", u) for u in external_urls(src, allowed_hosts=allowed)]
    if assets is not None and assets.is_dir():
        for path in sorted(assets.rglob("*")):
            if path.suffix.lower() in (".css", ".js", ".json", ".html"):
                text = path.read_text("utf-8", errors="replace")
                found += [
                    ExternalUrl(f"asset {path.relative_to(assets)}", u)
                    for u in external_urls(text, allowed_hosts=allowed)
                ]
    return found


def outbound_targets(settings: Settings) -> list[ExternalUrl]:
    """Server-side destinations outside the allowed hosts (webhooks, the dashboard link): not loaded
    by pages, so never a reason to refuse, but an offline deployment cannot reach them either."""
    allowed = settings.map.allowed_hosts
    found = []
    for target in settings.notifications:
        if target.enabled and not target.url.startswith("${"):
            found += [
                ExternalUrl(f"notification target {target.name}", u)
                for u in external_urls(target.url, allowed_hosts=allowed)
            ]
    return found


def self_check(settings: Settings, app: Any | None = None, assets: Path | None = None) -> list[ExternalUrl]:
    """Run the check; refuse or warn per ``map.self_check`` when the deployment is offline."""
    if settings.map.offline:
        for target in outbound_targets(settings):
            log.warning("OFFLINE CHECK: %s is outside the intranet and will not be reachable offline", target)
    found = find_external_urls(settings, app, assets)
    if found and settings.map.offline:
        listing = "; ".join(str(f) for f in found)
        if settings.map.self_check == "refuse":
            raise OfflineCheckError(
                f"the deployment is marked offline but would load from outside: {listing}",
                hint="remove those URLs, add the intranet host to map.allowed_hosts, "
                "or set map.self_check = 'warn'",
            )
        log.warning(
            "OFFLINE CHECK: the deployment is marked offline but would load from outside: %s", listing
        )
    return found
