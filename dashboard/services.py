"""The running services of one process, handed to the web app (never module globals)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app

from cityops.base.domains import BUILTIN_DOMAINS
from cityops.base.settings import Settings
from cityops.base.warehouse import Warehouse
from ingest.health import FeedHealth, compute_feed_health
from ingest.runtime import Runtime

_WALL_LOCK = threading.Lock()
SERVICES_KEY = "cityops.services"


@dataclass
class Services:
    runtime: Runtime
    scheduler: Any | None = None  # an APScheduler BackgroundScheduler when this process runs jobs
    alerting: Any | None = None  # cityops.alerting.Alerting when rule packs are configured
    _base_layers: list[Any] | None = None
    _wall: Any | None = None
    _signals_only: Any | None = None
    _audit_batch: Any | None = None

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def warehouse(self) -> Warehouse:
        return self.runtime.warehouse

    def engine(self) -> Any:
        """The warning engine, or — without rule packs — the same signal computation with no rules, so
        the wall and the map show the city's state either way."""
        if self.alerting is not None:
            return self.alerting
        with _WALL_LOCK:
            if self._signals_only is None:
                from cityops.alerting import Alerting
                from metrics.warnings.rules import RulePack

                self._signals_only = Alerting(
                    self.runtime, RulePack(id="none", version="none", title="", rules=())
                )
        return self._signals_only

    def wall(self) -> Any:
        """The wall's shared snapshot cache (one per process)."""
        with _WALL_LOCK:
            if self._wall is None:
                from dashboard.wall import WallCache

                self._wall = WallCache(self)
        return self._wall

    def audit_batch(self) -> Any:
        """The audit events written in batches (refused sign-ins), one writer per process."""
        with _WALL_LOCK:
            if self._audit_batch is None:
                from cityops.base.audit import AuditBatch

                self._audit_batch = AuditBatch(self.warehouse.record_audits)
        return self._audit_batch

    def flush_audit(self) -> None:
        """Write the batched audit events waiting now."""
        if self._audit_batch is not None:
            self._audit_batch.flush()

    def close_audit(self) -> None:
        """Write the batched audit events still waiting (before the warehouse closes)."""
        if self._audit_batch is not None:
            self._audit_batch.close()

    def base_layers(self) -> list[Any]:
        """The map's base layers, read once per process (they are files that do not change while serving)."""
        if self._base_layers is None:
            from dashboard.mapdata import load_base_layers

            self._base_layers = load_base_layers(self.settings)
        return self._base_layers

    def now(self) -> datetime:
        return self.runtime.clock.now()

    def local(self, at: datetime) -> datetime:
        return at.astimezone(ZoneInfo(self.settings.city.timezone))

    def feed_health(self) -> list[FeedHealth]:
        states = self.warehouse.feed_states()
        by_feed = {r["feed"]: r for r in states.to_dict("records")}
        event_domains = {n for n, d in BUILTIN_DOMAINS.items() if d.storage == "record"}
        ing = self.settings.ingest
        health = compute_feed_health(
            self.settings.feeds,
            by_feed,
            event_domains,
            self.now(),
            late_after=ing.late_after,
            stale_after=ing.stale_after,
        )
        skips = getattr(self.scheduler, "skips", None)  # cityops.jobs.SkippedRuns of this process
        if skips is None:
            return health
        counts = {h.feed: skips.for_feed(h.feed) for h in health}
        return [
            replace(h, skipped_runs=c.total, last_skipped_at=c.last_at) if (c := counts[h.feed]) else h
            for h in health
        ]

    def health(self) -> dict[str, Any]:
        """The /healthz document: ok, degraded (something needs attention) or down (no database)."""
        try:
            self.warehouse.ping()
            database = "ok"
        except Exception as exc:  # any failure to answer SELECT 1 means the database is unusable
            return {
                "status": "down",
                "database": f"error: {exc}",
                "scheduler": self._scheduler_state(),
                "feeds": {},
                "engine": self._engine_health(),
            }
        health = self.feed_health()
        feeds = {h.feed: h.freshness for h in health}
        scheduler = self._scheduler_state()
        failing_new = any(h.freshness == "never" and h.consecutive_failures > 0 for h in health)
        faults = self.engine_faults()
        degraded = (
            scheduler == "stopped"
            or failing_new
            or any(v in ("late", "stale") for v in feeds.values())
            or bool(faults)
        )
        return {
            "status": "degraded" if degraded else "ok",
            "database": database,
            "scheduler": scheduler,
            "feeds": feeds,
            "engine": self._engine_health(faults),
        }

    def _engine_health(self, faults: list[dict[str, str]] | None = None) -> dict[str, Any]:
        faults = self.engine_faults() if faults is None else faults
        return {"status": "degraded" if faults else "ok", "faults": faults}

    def engine_faults(self) -> list[dict[str, str]]:
        """The warning engine's contained failures now (a domain, rule or district that could not be
        computed): cause, stage, subject, error, since. Empty when it runs clean or has not run."""
        engine = self.alerting if self.alerting is not None else self._signals_only
        return [] if engine is None else [f.as_dict() for f in engine.faults()]

    def _scheduler_state(self) -> str:
        if self.scheduler is None:
            return "disabled" if not self.settings.scheduler.enabled else "not running in this process"
        return "running" if self.scheduler.running else "stopped"


def services() -> Services:
    """The services of the app handling the current request (pages and callbacks ask for them here)."""
    return current_app.config[SERVICES_KEY]
