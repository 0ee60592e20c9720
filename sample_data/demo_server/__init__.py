"""The demo departmental feed server: four departments, four deliberately different formats, on loopback.

:class:`DemoFeedServer` serves what a :class:`sample_data.generator.CityGenerator` says the city
measures, driven by a :class:`cityops.base.clock.Clock`: nothing later than ``clock.now()`` is ever served
(it has not been measured yet). It is a stdlib ``ThreadingHTTPServer`` in a background thread::

    with DemoFeedServer(generator, clock) as server:  # or server.start() / server.stop()
        base = server.url  # e.g. "http://127.0.0.1:54321"

Common rules (all four departments)
===================================

* Every data endpoint returns the observations in the half-open window ``(since, now]``: strictly
  later than the watermark parameter, up to and including ``clock.now()``. The window is capped to the
  last 7 days (``max_window``): an older watermark is treated as ``now - 7 days``. A watermark in the
  future gives an empty answer.
* Rows are ordered by time, then by entity/event id. Values are regenerated deterministically, so the
  same query always returns the same rows (idempotent re-fetching is safe).
* A missing or malformed query parameter → HTTP 400, body ``{"code": 400, "error": "bad_request",
  "message": "..."}`` (JSON, UTF-8). Unknown path → 404, other methods → 405, same body shape.
* Local time below means Asia/Shanghai, UTC+08:00 (no daylight saving).
* Entity ids (``roadId``, ``站点编码``, ``STCD``) are the catalogue's ``entity_id`` values.
* ``GET /healthz`` → 200 ``{"status": "ok", "now": "<clock.now(), ISO-8601 UTC>"}``.

The departments (each module's docstring is its endpoint's contract)
====================================================================

1. 交通运输局 — road traffic, JSON paginated behind a bearer token, GCJ-02: :mod:`.traffic`
2. 生态环境局 — hourly air quality, CSV with local naive times: :mod:`.environment`
3. 水利局 / 水文分局 — water levels (cm) and rainfall (0.1 mm) after an epoch-ms watermark: :mod:`.water`
4. 应急管理局 — emergency incidents, BD-09 with Chinese codes: :mod:`.emergency`

Around them: :mod:`.server` (HTTP, routing, error answers), :mod:`.source` (the window up to now and
the frame cache), :mod:`.faults`, :mod:`.params` (query parameters), :mod:`.localtime` and
:mod:`.replies`.

Fault injection (tests and demos)
=================================

``server.set_fault(path_prefix, kind)`` makes every request whose path starts with ``path_prefix``
fail: ``"500"`` → HTTP 500 JSON error; ``"404"`` → HTTP 404 JSON error; ``"hang"`` → no response
until the client gives up (or the fault is cleared or the server stops), then the connection is
dropped; ``"malformed"`` → HTTP 200 with the normal headers but the body truncated to half its
length in bytes (``Content-Length`` matches the truncated body, so the HTTP exchange is valid but the
JSON/CSV is not, and may even end in the middle of a UTF-8 character); ``"none"`` → removes the fault.
The longest matching prefix wins.
"""

from sample_data.demo_server.faults import FAULT_KINDS
from sample_data.demo_server.server import DemoFeedServer

__all__ = ["FAULT_KINDS", "DemoFeedServer"]
