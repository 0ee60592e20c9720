"""HTTP(S) sources: JSON, CSV or GeoJSON over GET, with headers, pagination and a ``since`` watermark.

Transient (retried): connection refused or reset, timeouts, HTTP 429 and 5xx, a body cut short.
Terminal: other 4xx, a payload over the size limit, a body that is not what pagination expects.
The whole fetch is bounded by the context's deadline, so a server that trickles bytes forever cannot
hold a worker.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from cityops.base.errors import ConfigError
from cityops.base.settings import HttpSource, Watermark, resolve_secret
from ingest.errors import ParseError, SourceError, TransientError
from ingest.landing import LandingWriter
from ingest.parse import dig
from ingest.sources import FetchContext, FetchOutcome


def format_watermark(at: datetime, spec: Watermark, tz: str) -> str:
    """Write an instant the way the source expects its ``since`` parameter."""
    if spec.format == "epoch_ms":
        return str(int(at.timestamp() * 1000))
    if spec.format == "epoch_s":
        return str(int(at.timestamp()))
    if spec.format == "iso_local":
        return at.astimezone(ZoneInfo(tz)).isoformat(timespec="seconds")
    if spec.format == "local":
        return at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S")
    return at.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


def _get(
    client: httpx.Client,
    url: str,
    params: dict[str, str] | None,
    headers: dict[str, str],
    writer: LandingWriter,
    fmt: str,
    ctx: FetchContext,
    page: int | None,
) -> bytes:
    """GET one page, streaming it into the landing area; returns the body too (for pagination)."""
    if time.monotonic() > ctx.deadline:
        raise TransientError(f"{ctx.feed}: fetch exceeded its time limit before requesting {url}")
    where = url + (f" (page {page})" if page is not None else "")
    try:
        with client.stream("GET", url, params=params, headers=headers) as resp:
            if resp.status_code == 429 or resp.status_code >= 500:
                raise TransientError(f"{ctx.feed}: {where} answered HTTP {resp.status_code}")
            if resp.status_code >= 400:
                body = resp.read()[:300].decode("utf-8", "replace")
                raise SourceError(
                    f"{ctx.feed}: {where} answered HTTP {resp.status_code}: {body}",
                    hint="check the URL, parameters and credentials in the feed's source",
                )
            part = writer.open_part(
                fmt,
                str(resp.request.url),
                status=resp.status_code,
                content_type=resp.headers.get("content-type"),
            )
            chunks: list[bytes] = []
            try:
                # No chunk_size: httpx would buffer until 64 KiB arrived, so a server trickling bytes
                # would never reach the deadline check, and bytes received before a stall would be lost.
                for chunk in resp.iter_bytes():
                    part.write(chunk)
                    chunks.append(chunk)
                    if time.monotonic() > ctx.deadline:
                        raise TransientError(
                            f"{ctx.feed}: {where} was still sending when the fetch time limit ran out"
                        )
            finally:
                part.close()
            return b"".join(chunks)
    except httpx.TimeoutException as exc:
        raise TransientError(f"{ctx.feed}: {where} timed out ({type(exc).__name__})") from None
    except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
        raise TransientError(f"{ctx.feed}: {where}: {type(exc).__name__}: {exc}") from None
    except httpx.HTTPError as exc:
        raise SourceError(f"{ctx.feed}: {where}: {type(exc).__name__}: {exc}") from None


def _page_records(body: bytes, records: str | None, what: str) -> tuple[Any, int]:
    try:
        obj = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ParseError(f"{what} is not valid JSON ({exc}); cannot page further") from None
    items = dig(obj, records, what=what)
    if not isinstance(items, list):
        raise ParseError(f"{what}: expected a list at {records!r}")
    return obj, len(items)


def fetch_http(source: HttpSource, ctx: FetchContext, writer: LandingWriter) -> FetchOutcome:
    try:
        headers = {k: resolve_secret(v, ctx.environ) for k, v in source.headers.items()}
        params = {k: resolve_secret(v, ctx.environ) for k, v in source.params.items()}
    except ConfigError as exc:
        raise SourceError(f"{ctx.feed}: {exc.message}", hint=exc.hint) from None
    if source.since is not None and ctx.since is not None:
        params[source.since.param] = format_watermark(ctx.since, source.since, ctx.timezone)
    timeout = httpx.Timeout(
        connect=ctx.connect_timeout.total_seconds(),
        read=ctx.read_timeout.total_seconds(),
        write=ctx.read_timeout.total_seconds(),
        pool=ctx.connect_timeout.total_seconds(),
    )
    pag = source.pagination
    with httpx.Client(timeout=timeout, follow_redirects=True, trust_env=False) as client:
        if pag is None:
            _get(client, source.url, params, headers, writer, source.format, ctx, None)
            return FetchOutcome()
        if source.format == "csv":
            raise SourceError(f"{ctx.feed}: pagination is supported for JSON sources only")
        url: str | None = source.url
        page = pag.first_page
        fetched = 0
        total: int | None = None
        for n in range(pag.max_pages):
            page_params = dict(params)
            if pag.style == "page":
                page_params[pag.page_param] = str(page)
                page_params[pag.size_param] = str(pag.size)
            elif pag.style == "offset":
                page_params[pag.offset_param] = str(fetched)
                page_params[pag.size_param] = str(pag.size)
            assert url is not None
            # Later next_url pages carry their own query: None keeps it (httpx drops a URL's query when
            # given params={}).
            body = _get(
                client,
                url,
                page_params if n == 0 or pag.style != "next_url" else None,
                headers,
                writer,
                source.format,
                ctx,
                page,
            )
            obj, count = _page_records(body, source.records, f"{ctx.feed} page {page}")
            fetched += count
            if pag.total_path:
                try:
                    total = int(dig(obj, pag.total_path))
                except (ParseError, TypeError, ValueError):
                    total = None
            if ctx.on_progress:
                ctx.on_progress(ctx.feed, fetched, total)
            if count == 0 or (total is not None and fetched >= total):
                break
            if pag.style == "next_url":
                try:
                    url = dig(obj, pag.next_path) if pag.next_path else None
                except ParseError:
                    url = None
                if not url:
                    break
            elif count < pag.size:
                break
            page += 1
        else:
            raise SourceError(
                f"{ctx.feed}: stopped after {pag.max_pages} pages", hint="raise pagination.max_pages"
            )
    return FetchOutcome()
