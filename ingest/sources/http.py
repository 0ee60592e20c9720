"""HTTP(S) sources: JSON, CSV or GeoJSON over GET, with headers, paging, a response envelope and a
``since`` watermark.

Transient (retried): connection refused or reset, timeouts, HTTP 408, 429 and 5xx, a body cut short, an
envelope whose department says it is busy (``envelope.transient_values`` / ``transient_messages``).
Terminal: other 4xx, a payload over the size limit, an HTML page where JSON was expected, a body that
matches no envelope, a failed envelope, and paging that cannot be trusted to be complete (a page that
repeats an earlier one, a link or cursor followed before, a page count that grows, an empty page before
the announced end, ``max_pages`` reached), and a next link that is no URL or leads to another host than
the feed's (its headers carry credentials): a run records all pages or none.
The whole fetch is bounded by the context's deadline, so a server that trickles bytes forever cannot
hold a worker."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import httpx

from cityops.base.errors import ConfigError
from cityops.base.redact import redact_logger_records, redact_text, redact_url
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
from ingest.errors import IngestError, ParseError, SourceError, TimeLimitError, TransientError
from ingest.landing import LandingWriter
from ingest.parse import dig
from ingest.sources import FetchContext, FetchOutcome, scrub_error, source_secrets


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
    # Messages and the landing's metadata name the URL without its query values or user-info.
    where = redact_url(url) + (f" (page {page})" if page is not None else "")
    if time.monotonic() > ctx.deadline:
        raise TimeLimitError(f"{ctx.feed}: the run's time limit ran out before requesting {where}")
    try:
        # The configured URL's own query (``?appKey=…``) stays: httpx would replace it by ``params``.
        target = httpx.URL(url).copy_merge_params(params) if params else httpx.URL(url)
    except httpx.InvalidURL as exc:  # not an httpx.HTTPError: a control character in the URL
        raise SourceError(
            f"{ctx.feed}: {_snippet(where)} is not a usable URL ({redact_text(str(exc))})",
            hint="check the feed's source.url (or the next link the department sends)",
        ) from None
    try:
        with client.stream("GET", target, headers=headers) as resp:
            content_type = resp.headers.get("content-type")
            if resp.status_code >= 400:
                _raise_status(resp, content_type, ctx, where)
            part = writer.open_part(
                fmt, redact_url(str(resp.request.url)), status=resp.status_code, content_type=content_type
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
        raise TransientError(f"{ctx.feed}: {where}: {type(exc).__name__}: {redact_text(str(exc))}") from None
    except httpx.HTTPError as exc:
        raise SourceError(f"{ctx.feed}: {where}: {type(exc).__name__}: {redact_text(str(exc))}") from None


ERROR_BODY_BYTES = 4096  # what is read of an error answer's body: enough to say what the server said

# Statuses worth retrying: a timeout, too many requests, and every server error.
_TRANSIENT_STATUSES = {408, 429}


def _raise_status(resp: httpx.Response, content_type: str | None, ctx: FetchContext, where: str) -> None:
    """The error for an HTTP 4xx/5xx answer, with the first bytes of its body: 408, 429 and 5xx are
    transient, other 4xx terminal. At most :data:`ERROR_BODY_BYTES` are read, and no longer than the
    run's time limit: a server trickling an error page cannot hold the worker, nor hide its status."""
    received = bytearray()
    try:
        for chunk in resp.iter_bytes():
            received += chunk
            if len(received) >= ERROR_BODY_BYTES or time.monotonic() > ctx.deadline:
                break
    except httpx.HTTPError:
        pass  # a timeout or a cut connection while reading the error page: the status is the error
    body = bytes(received[:ERROR_BODY_BYTES])
    text = f"{ctx.feed}: {where} answered HTTP {resp.status_code}"
    if body:
        text += f": {describe_body(body, content_type)}"
    if resp.status_code in _TRANSIENT_STATUSES or resp.status_code >= 500:
        raise TransientError(text)
    raise SourceError(text, hint="check the URL, parameters and credentials in the feed's source")


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
    """Fetch the feed into ``writer``. Its errors name URLs without their query values or user-info,
    and never quote a configured secret (headers, parameters) — they are recorded, logged and shown.
    httpx's own log records of the requests are redacted too."""
    redact_logger_records()
    try:
        return _fetch_http(source, ctx, writer)
    except IngestError as exc:
        raise scrub_error(exc, source_secrets(source, ctx.environ)) from None


def _fetch_http(source: HttpSource, ctx: FetchContext, writer: LandingWriter) -> FetchOutcome:
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
    # A redirect is followed only within the hosts next links may reach: httpx drops Authorization
    # across hosts, but a department's other credential headers (X-Token, appKey…) would go along.
    try:
        allowed = _allowed_origins(source.url, source.pagination.allow_hosts if source.pagination else [])
    except httpx.InvalidURL:
        allowed = set()  # the request itself reports the URL it cannot use
    hooks: dict[str, list[Callable[..., Any]]] = {
        "response": [partial(_check_redirect, allowed=allowed, feed=ctx.feed)]
    }
    with httpx.Client(timeout=timeout, follow_redirects=True, trust_env=False, event_hooks=hooks) as client:
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
        notes = _fetch_pages(client, source, source.pagination, params, headers, writer, ctx)
    return FetchOutcome(notes=notes)


def _fetch_pages(
    client: httpx.Client,
    source: HttpSource,
    pag: Pagination,
    params: dict[str, str],
    headers: dict[str, str],
    writer: LandingWriter,
    ctx: FetchContext,
) -> list[str]:
    """Every page, or a terminal error naming the page: a run never records part of the pages. Returns
    notes for the run (a page size the server caps).

    A page whose records repeat an earlier page's (a looping API), a link or cursor followed before, a
    page count that grows while paging, an empty or null page before the announced end, a next link to
    another host, and reaching ``max_pages`` before the last page are all terminal. Without a count, a
    short page is followed by one more request: rows there mean the server caps its page size below the
    one asked for, and paging goes on until an empty page.
    """
    url = source.url
    origins = _allowed_origins(source.url, pag.allow_hosts)
    notes: list[str] = []
    fetched = 0
    announced: int | None = None  # the page count the body announces (pages_path, or total / size)
    announced_total: int | None = None
    digests: dict[str, int] = {}  # page fingerprint → the page it was first seen on
    followed: dict[str, int] = {}  # next links and cursors → the page that gave them
    cursor: str | None = None
    short: tuple[int, str, int] | None = None  # the last short page: number, fingerprint, rows
    capped = False  # the server was seen to send fewer rows a page than asked for, and more pages
    for n in range(1, pag.max_pages + 2):
        probe = short is not None and short[0] == n - 1 and not capped
        if n > pag.max_pages and not probe:  # the request after a short page may pass the cap
            break
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
        null = bool(writer.parts[-1].extra.get(NO_RECORDS))
        if null and n == 1:
            _progress(ctx, 0, 0)
            return notes  # a success envelope with no records: there is nothing to page
        if items:
            digest = page_digest(items)
            if short is not None and short[0] == n - 1 and short[1] == digest:
                # Asked past a short page, the server sent that page again (it clamps the page number
                # or offset to its last page): the short page was the last. Its copy is not parsed.
                writer.parts[-1].extra[NO_RECORDS] = True
                _progress(ctx, fetched, fetched)
                return notes
            if digest in digests:
                raise SourceError(
                    f"{what} repeats page {digests[digest]} (the same records): the API is looping; "
                    f"stopped after {fetched} rows rather than record part of the pages",
                    hint="check the feed's pagination parameters (page_param, offset_param, size_param)",
                )
            digests[digest] = n
        fetched += len(items)
        if pag.style == "page" and (pag.pages_path or pag.total_path):
            total, pages = _announced(obj, pag, what, null, announced_total, announced)
            if announced is not None and pages > announced:
                raise SourceError(
                    f"{what}: the page count grew from {announced} to {pages} while paging "
                    f"(rows were added meanwhile, so pages shifted); stopped rather than record part of them",
                    hint="ask for a fixed time window (since watermark) so the result does not move",
                )
            announced, announced_total = pages, total
            _progress(ctx, fetched, total)
            if total is not None:
                if fetched >= total:
                    return notes
                missing = not items
            else:
                # Page 1 of an empty result may say 0 or 1 pages; any later page up to the count has rows.
                missing = not items and n <= pages and (n > 1 or pages > 1)
                if not missing and n >= pages:
                    return notes
            if missing:
                how = f"has no records (null at {source.records!r})" if null else "is empty"
                raise SourceError(
                    f"{what} {how} but the body announced {pages} pages"
                    + (f" and {total} rows ({fetched} received)" if total is not None else ""),
                    hint="the department's paging is inconsistent; try again later or ask them",
                )
        elif pag.style in ("page", "offset"):
            if not items:
                return notes  # an empty (or null) page after the first: the end
            _progress(ctx, fetched, None)
            if len(items) < pag.size and not capped:
                if short is not None and short[0] == n - 1:
                    # The page after a short page has rows: the server caps its page size.
                    capped = True
                    notes.append(
                        f"the server returns at most {short[2]} rows a page (asked for {pag.size}); "
                        f"paged by {short[2]}"
                    )
                else:
                    # A short page is the last one, or the server caps its page size: the next one tells.
                    short = (n, digest, len(items))
            elif short is not None and short[0] == n - 1 and not capped:
                capped = True
                notes.append(
                    f"the server returns at most {short[2]} rows a page (asked for {pag.size}); "
                    f"paged by {short[2]}"
                )
        else:
            _progress(ctx, fetched, None)
            key = "next_path" if pag.style == "next_url" else "cursor_path"
            path = pag.next_path if pag.style == "next_url" else pag.cursor_path
            link = _optional(obj, path or "")
            if link is None or link == "":
                return notes
            if pag.style == "next_url":
                if not items:
                    return notes
                token = _next_url(url, link, origins, what, pag)
            else:
                token = str(link)
                if not items and token == cursor:
                    # An empty page handing back the cursor it was asked with: nothing after it yet.
                    return notes
            if token in followed or token == source.url:
                raise SourceError(
                    f"{what} gives a {'next link' if pag.style == 'next_url' else 'cursor'} already followed "
                    f"({_snippet(redact_url(token))}): the API is looping; "
                    "stopped rather than record part of the pages",
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


def _announced(
    obj: Any, pag: Pagination, what: str, null: bool, total: int | None, pages: int | None
) -> tuple[int | None, int]:
    """The row total (when the body gives one) and the page count a counted page announces. A page with
    null records may lack the counts: then the counts announced before stand."""
    try:
        if pag.total_path:
            total = _count(obj, pag.total_path, what)
        pages = _count(obj, pag.pages_path, what) if pag.pages_path else math.ceil((total or 0) / pag.size)
    except ParseError:
        if not null or pages is None:
            raise
    return total, pages


Origin = tuple[str, str, int | None]


def _origin(url: httpx.URL) -> Origin:
    return url.scheme, url.host, url.port  # httpx leaves a scheme's default port out: None


def _allowed_origins(feed_url: str, allow_hosts: list[str]) -> set[Origin]:
    """Where next links may lead: the feed URL's scheme, host and port, and ``allow_hosts`` (a host
    without a scheme takes the feed URL's)."""
    base = httpx.URL(feed_url)
    return {_origin(base)} | {
        _origin(httpx.URL(entry if "://" in entry else f"{base.scheme}://{entry}")) for entry in allow_hosts
    }


def _check_redirect(response: httpx.Response, *, allowed: set[Origin], feed: str) -> None:
    """Refuse a redirect to a host the feed's headers may not go to (terminal: it will not change)."""
    if not response.has_redirect_location:
        return
    try:
        target = response.url.join(response.headers["location"])
    except (httpx.InvalidURL, ValueError):
        return  # httpx itself reports a redirect it cannot follow
    if _origin(target) in allowed:
        return
    port = f":{target.port}" if target.port else ""
    raise SourceError(
        f"{feed}: {redact_url(str(response.url))} redirects to another host "
        f"({_snippet(f'{target.scheme}://{target.host}{port}')}): not followed, so the feed's headers and "
        "credentials stay with its own host",
        hint="point source.url at where the department serves the data now, or list that host in the "
        "feed's pagination.allow_hosts",
    )


def _next_url(url: str, link: Any, origins: set[Origin], what: str, pag: Pagination) -> str:
    """The absolute URL of a next link, checked: a link that is not a URL, or leads to another scheme,
    host or port than the feed's (its headers, secrets included, would go there), is terminal."""
    shown = _snippet(redact_url(str(link)))
    try:
        if not isinstance(link, str):
            raise ValueError(f"a JSON {type(link).__name__}")
        token = urljoin(url, link.strip())
        parts = urlsplit(token)
        parts.port  # noqa: B018 - raises on a port out of range
        target = httpx.URL(token)
        if parts.scheme not in ("http", "https") or not target.host:
            raise ValueError("not an http(s) URL with a host")
    except (ValueError, httpx.InvalidURL) as exc:
        raise SourceError(
            f"{what} gives a next link that is not a usable URL ({shown}: {redact_text(str(exc))}); "
            "stopped rather than record part of the pages",
            hint=f"check the feed's pagination.next_path ({pag.next_path!r}) against what the department "
            "sends",
        ) from None
    if _origin(target) not in origins:
        port = f":{target.port}" if target.port else ""
        host = _snippet(f"{target.scheme}://{target.host}{port}")
        raise SourceError(
            f"{what} gives a next link to another host ({host}, link {shown}): not followed, so the "
            "feed's headers and credentials stay with its own host",
            hint="if the department really serves later pages from there, list it in the feed's "
            "pagination.allow_hosts",
        )
    return token


def _progress(ctx: FetchContext, done: int, total: int | None) -> None:
    if ctx.on_progress:
        ctx.on_progress(ctx.feed, done, total)


def _snippet(text: str) -> str:
    return json.dumps(text if len(text) <= 120 else text[:120] + "…", ensure_ascii=False)
