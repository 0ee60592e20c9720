"""Serving: build the process's services and serve the Dash app with a production WSGI server.

``cityops serve`` and ``cityops demo`` are one process: warehouse, scheduler and web app together,
because DuckDB allows one read-write process per file. waitress serves with threads; each thread
gets its own DuckDB cursor from the warehouse.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from waitress.server import create_server

from cityops.base.clock import Clock, SystemClock
from cityops.base.errors import CityopsError
from cityops.base.settings import Settings
from cityops.base.warehouse import open_warehouse
from cityops.jobs import build_scheduler, start_scheduler, stop_scheduler
from dashboard.offline import self_check
from dashboard.services import Services
from ingest.reference import load_reference_data
from ingest.runtime import Runtime

log = logging.getLogger("cityops.server")


def open_runtime(
    settings: Settings, *, clock: Clock | None = None, environ: dict[str, str] | None = None
) -> Runtime:
    """Open the warehouse (migrating it), load reference data, recover interrupted runs."""
    warehouse = open_warehouse(settings)
    rt = Runtime(
        settings, warehouse, clock or SystemClock(), dict(os.environ if environ is None else environ)
    )
    load_reference_data(settings, warehouse)
    interrupted = warehouse.recover_interrupted_runs(rt.clock.now())
    if interrupted:
        log.warning(
            "runs interrupted by a previous stop (nothing of them was committed): %s", ", ".join(interrupted)
        )
    return rt


def build_alerting(rt: Runtime) -> Any:
    """The warning engine with its rule pack and (when targets are configured) a notifier."""
    from cityops.alerting import Alerting, load_rule_pack
    from cityops.notify import Notifier

    pack = load_rule_pack(rt.settings, today=rt.clock.now().date())
    notifier = None
    targets = [t for t in rt.settings.notifications if t.enabled]
    if targets:
        notifier = Notifier(
            targets,
            log=rt.warehouse.log_delivery,
            environ=rt.environ,
            timezone=rt.settings.city.timezone,
            outbox=rt.warehouse,  # durable: delivered at least once across restarts
        )
    return Alerting(rt, pack, notifier=notifier)


def ensure_port_free(host: str, port: int) -> None:
    """Fail early, before minutes of start-up work, when the port is taken."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise CityopsError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                hint="another program uses that port: pass --port with a free one",
            ) from None


@dataclass
class Server:
    """A running web server (+ scheduler); ``stop()`` shuts everything down cleanly."""

    services: Services
    wsgi: Any
    thread: threading.Thread | None = None
    _stopped: bool = field(default=False)

    @property
    def url(self) -> str:
        host, port = self.wsgi.effective_host, self.wsgi.effective_port
        return f"http://{host}:{port}"

    def serve_forever(self) -> None:
        self.wsgi.run()

    def start_background(self) -> None:
        self.thread = threading.Thread(target=self.wsgi.run, name="cityops-http", daemon=True)
        self.thread.start()

    def close_http(self) -> None:
        """Stop serving: the listening socket, every open connection (keep-alive ones too) and the
        worker threads, so that the port is free and clients see the server gone."""
        sockets = getattr(self.wsgi, "_map", {})
        done = threading.Event()

        def close_all() -> None:  # runs in the server's own loop thread, so nothing is closed under it
            for channel in list(sockets.values()):
                with contextlib.suppress(OSError):
                    channel.close()
            done.set()

        if self.thread is not None and self.thread.is_alive():
            self.wsgi.trigger.pull_trigger(close_all)
            done.wait(timeout=5)
        else:
            close_all()
        self.wsgi.task_dispatcher.shutdown(timeout=5)
        if self.thread is not None:
            self.thread.join(timeout=5)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.services.runtime.stopping.set()  # retries' backoff waits end now; no new attempt starts
        if self.services.scheduler is not None:
            stop_scheduler(self.services.scheduler, wait=True)
        if self.services.alerting is not None and self.services.alerting.notifier is not None:
            self.services.alerting.notifier.close(5)
        self.close_http()
        self.services.close_audit()
        self.services.warehouse.close()


def build_server(
    rt: Runtime,
    *,
    with_scheduler: bool = True,
    host: str | None = None,
    port: int | None = None,
    on_report: Callable[[Any], None] | None = None,
) -> Server:
    from dashboard.app import create_app

    settings = rt.settings
    alerting = build_alerting(rt) if settings.warnings.enabled and settings.warnings.packs else None
    scheduler = None
    if with_scheduler and settings.scheduler.enabled:
        scheduler = build_scheduler(rt, on_report=on_report, alerting=alerting)
    services = Services(rt, scheduler, alerting)
    services.base_layers()  # a broken map layer is a start-up error, not a frozen wall later
    app = create_app(services)
    self_check(settings, app, Path(app.config.assets_folder))
    bind_host = host or settings.server.host
    bind_port = settings.server.port if port is None else port
    try:
        wsgi = create_server(
            app.server,
            host=bind_host,
            port=bind_port,
            threads=settings.server.threads,
            ident="cityops",
            # behind an HTTPS proxy its forwarded headers are read by the app (dashboard.headers)
            clear_untrusted_proxy_headers=not settings.server.behind_https,
            # refused before it is read, as the app refuses it (dashboard.headers)
            max_request_body_size=int(settings.server.max_request_mb * 1024 * 1024),
        )
    except OSError as exc:
        raise CityopsError(
            f"cannot listen on {bind_host}:{bind_port}: {exc.strerror or exc}",
            hint="another program uses that port: pass --port with a free one",
        ) from None
    if scheduler is not None:
        start_scheduler(scheduler)
    return Server(services, wsgi)
