"""HTTP(S) sources: JSON, CSV or GeoJSON over GET, with headers, paging, a response envelope and a
``since`` watermark.

Transient (retried): connection refused or reset, timeouts, HTTP 429 and 5xx, a body cut short, an
envelope whose department says it is busy (``envelope.transient_values`` / ``transient_messages``).
Terminal: other 4xx, a payload over the size limit, an HTML page where JSON was expected, a body that
matches no envelope, a failed envelope, and paging that cannot be trusted to be complete (a page that
repeats an earlier one, a link or cursor followed before, a page count that grows, an empty page before
the announced end, ``max_pages`` reached): a run records all pages or none.
The whole fetch is bounded by the context's deadline, so a server that trickles bytes forever cannot
hold a worker."""

from __future__ import annotations

import json
import math
import time
from datetime import datetime
from typing import Any
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

import httpx

from cityops.base.errors import ConfigError
from cityops.base.settings import HttpSource, Pagination, Watermark, resolve_secret
from ingest.envelope import (
    NO_RECORDS,
    Body,
    check_envelope,
    check_not_html,
    describe_body,
    load_page,
    page_digest,
    page_items,
)
from ingest.errors import ParseError, SourceError, TimeLimitError, TransientError
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
) -> tuple[Body, str | None]:
    """GET one page, streaming it into the landing area; returns the body and its content type too."""
    where = url + (f" (page {page})" if page is not None else "")
    if time.monotonic() > ctx.deadline:
        raise TimeLimitError(f"{ctx.feed}: the run's time limit ran out before requesting {where}")
    try:
        with client.stream("GET", url, params=params, headers=headers) as resp:
            if resp.status_code == 429 or resp.status_code >= 500:
                raise TransientError(f"{ctx.feed}: {where} answered HTTP {resp.status_code}")
            content_type = resp.headers.get("content-type")
            if resp.status_code >= 400:
                body = resp.read()
                raise SourceError(
                    f"{ctx.feed}: {where} answered HTTP {resp.status_code}: "
                    f"{describe_body(body, content_type)}",
                    hint="check the URL, parameters and credentials in the feed's source",
                )
            part = writer.open_part(
                fmt, str(resp.request.url), status=resp.status_code, content_type=content_type
            )
            # One growing buffer, handed on as it is: a list of chunks joined at the end would hold
            # the whole payload twice at that moment.
            received = bytearray()
            over = False  # the time limit had passed when the last chunk was written
            try:
                # No chunk_size: httpx would buffer until 64 KiB arrived, so a server trickling bytes
                # would never reach the deadline check, and bytes received before a stall would be lost.
                for chunk in resp.iter_bytes():
                    if over:  # more kept coming after the limit: a body that ended then is still taken
                        raise TransientError(
                            f"{ctx.feed}: {where} was still sending when the fetch time limit ran out"
                        )
                    part.write(chunk)
                    received += chunk
                    over = time.monotonic() > ctx.deadline
            finally:
                part.close()
            return received, content_type
    except httpx.TimeoutException as exc:
        raise TransientError(f"{ctx.feed}: {where} timed out ({type(exc).__name__})") from None
    except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
        raise TransientError(f"{ctx.feed}: {where}: {type(exc).__name__}: {exc}") from None
    except httpx.HTTPError as exc:
        raise SourceError(f"{ctx.feed}: {where}: {type(exc).__name__}: {exc}") from None


def _read_page(
    source: HttpSource, body: Body, content_type: str | None, writer: LandingWriter, what: str
) -> tuple[Any, list[Any]]:
    """A JSON page checked against the feed's envelope: the document and its records.

    A success envelope with null where the records go is zero rows; its landed part is marked so that
    parsing skips it.
    """
    obj = load_page(body, content_type, what)
    if source.envelope is not None:
        check_envelope(obj, source.envelope, what, body, content_type)
    items = page_items(obj, source.records, what, enveloped=source.envelope is not None)
    if items is None:
        writer.parts[-1].extra[NO_RECORDS] = True
        return obj, []
    return obj, items


def _optional(obj: Any, path: str) -> Any:
    """The value at ``path``, or None where the body has nothing there (a last page's missing link)."""
    try:
        return dig(obj, path)
    except ParseError:
        return None


def _count(obj: Any, path: str, what: str) -> int:
    try:
        value = dig(obj, path, what=what)
        if isinstance(value, bool):
            raise ValueError(value)
        return int(value)
    except (TypeError, ValueError):
        raise ParseError(f"{what}: {path!r} is not a whole number") from None


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
    with httpx.Client(timeout=timeout, follow_redirects=True, trust_env=False) as client:
        if source.pagination is None:
            body, content_type = _get(client, source.url, params, headers, writer, source.format, ctx, None)
            if source.format == "json" and source.envelope is not None:
                _read_page(source, body, content_type, writer, ctx.feed)
            elif source.envelope is not None:  # GeoJSON: the envelope only; parsing finds the features
                obj = load_page(body, content_type, ctx.feed)
                check_envelope(obj, source.envelope, ctx.feed, body, content_type)
            elif source.format != "csv":
                check_not_html(body, content_type, ctx.feed)
            return FetchOutcome()
        if source.format == "csv":
            raise SourceError(f"{ctx.feed}: pagination is supported for JSON sources only")
        _fetch_pages(client, source, source.pagination, params, headers, writer, ctx)
    return FetchOutcome()


def _fetch_pages(
    client: httpx.Client,
    source: HttpSource,
    pag: Pagination,
    params: dict[str, str],
    headers: dict[str, str],
    writer: LandingWriter,
    ctx: FetchContext,
) -> None:
    """Every page, or a terminal error naming the page: a run never records part of the pages.

    A page whose records repeat an earlier page's (a looping API), a link or cursor followed before, a
    page count that grows while paging, an empty page before the announced end, and reaching
    ``max_pages`` before the last page are all terminal.
    """
    url = source.url
    fetched = 0
    announced: int | None = None  # the page count the body announces (pages_path, or total / size)
    digests: dict[str, int] = {}  # page fingerprint → the page it was first seen on
    followed: dict[str, int] = {}  # next links and cursors → the page that gave them
    cursor: str | None = None
    for n in range(1, pag.max_pages + 1):
        query: dict[str, str] | None = dict(params)
        if pag.style == "page":
            query = {**params, pag.page_param: str(pag.first_page + n - 1), pag.size_param: str(pag.size)}
        elif pag.style == "offset":
            query = {**params, pag.offset_param: str(fetched), pag.size_param: str(pag.size)}
        elif pag.style == "cursor":
            query = {**params, pag.size_param: str(pag.size)}
            if cursor is not None:
                query[pag.cursor_param] = cursor
        elif n > 1:
            # next_url pages carry their own query: None keeps it (httpx drops a URL's query when given {}).
            query = None
        what = f"{ctx.feed} page {n}"
        body, content_type = _get(client, url, query, headers, writer, source.format, ctx, n)
        obj, items = _read_page(source, body, content_type, writer, what)
        if items:
            digest = page_digest(items)
            if digest in digests:
                raise SourceError(
                    f"{what} repeats page {digests[digest]} (the same records): the API is looping; "
                    f"stopped after {fetched} rows rather than record part of the pages",
                    hint="check the feed's pagination parameters (page_param, offset_param, size_param)",
                )
            digests[digest] = n
        fetched += len(items)
        if writer.parts[-1].extra.get(NO_RECORDS):
            _progress(ctx, fetched, fetched)
            return  # a success envelope with no records: there is nothing more to page
        if pag.style == "page" and (pag.pages_path or pag.total_path):
            total = _count(obj, pag.total_path, what) if pag.total_path else None
            pages = (
                _count(obj, pag.pages_path, what) if pag.pages_path else math.ceil((total or 0) / pag.size)
            )
            if announced is not None and pages > announced:
                raise SourceError(
                    f"{what}: the page count grew from {announced} to {pages} while paging "
                    f"(rows were added meanwhile, so pages shifted); stopped rather than record part of them",
                    hint="ask for a fixed time window (since watermark) so the result does not move",
                )
            announced = pages
            _progress(ctx, fetched, total)
            if (fetched >= total) if total is not None else (n >= pages):
                return
            if not items:
                raise SourceError(
                    f"{what} is empty but the body announced {pages} pages"
                    + (f" and {total} rows ({fetched} received)" if total is not None else ""),
                    hint="the department's paging is inconsistent; try again later or ask them",
                )
        elif pag.style in ("page", "offset"):
            _progress(ctx, fetched, None)
            if len(items) < pag.size:
                return
        else:
            _progress(ctx, fetched, None)
            key = "next_path" if pag.style == "next_url" else "cursor_path"
            path = pag.next_path if pag.style == "next_url" else pag.cursor_path
            link = _optional(obj, path or "")
            if link is None or link == "" or not items:
                return
            token = urljoin(url, str(link)) if pag.style == "next_url" else str(link)
            if token in followed or token == source.url:
                raise SourceError(
                    f"{what} gives a {'next link' if pag.style == 'next_url' else 'cursor'} already followed "
                    f"({_snippet(token)}): the API is looping; stopped rather than record part of the pages",
                    hint=f"check the feed's pagination.{key}",
                )
            followed[token] = n
            if pag.style == "next_url":
                url = token
            else:
                cursor = token
    raise SourceError(
        f"{ctx.feed}: page {pag.max_pages} was not the last (pagination.max_pages = {pag.max_pages}); "
        f"stopped after {fetched} rows rather than record part of the pages",
        hint="raise pagination.max_pages, or ask for fewer rows per run (since watermark)",
    )


def _progress(ctx: FetchContext, done: int, total: int | None) -> None:
    if ctx.on_progress:
        ctx.on_progress(ctx.feed, done, total)


def _snippet(text: str) -> str:
    return json.dumps(text if len(text) <= 120 else text[:120] + "…", ensure_ascii=False)
