"""Exchange-database sources (前置库): an SQL query on PostgreSQL or MySQL/MariaDB.

The configured query contains ``:since`` where the watermark goes; it is bound as a parameter, never
formatted in. Rows are read in pages of ``page_size`` ordered by the watermark column (then by
``key_columns``, which makes the order total so that rows sharing a watermark value are neither
skipped nor repeated between pages), each page its own statement (so the exchange database is never
locked for the length of a run), and landed as JSON. Paging is by key (keyset): each page asks for
the rows after the last (watermark, keys…) read, so a row updated while paging is never skipped.
The run's new watermark is the largest watermark value read.

Transient: the server cannot be reached or drops the connection. Terminal: SQL errors such as a table
or column that no longer exists (schema drift on the department's side).
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from cityops.base.errors import ConfigError
from cityops.base.settings import DatabaseSource, resolve_secret
from ingest.errors import IngestError, SourceError, TransientError
from ingest.landing import LandingWriter
from ingest.sources import FetchContext, FetchOutcome, scrub_error, source_secrets

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date | dtime):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)


def _connect(dsn: str, timeout: float, statement_s: float = 300.0) -> tuple[Any, str]:
    """Connect; every statement is bounded by ``statement_s`` on the server (PostgreSQL) or the socket
    (MySQL), so a locked or hung exchange database cannot hold a worker past the run's time limit."""
    parts = urlsplit(dsn)
    scheme = parts.scheme
    if scheme in ("postgres", "postgresql"):
        import psycopg

        try:
            conn = psycopg.connect(
                dsn.replace("postgres://", "postgresql://", 1),
                connect_timeout=max(1, int(timeout)),
                autocommit=True,
                options=f"-c statement_timeout={max(1000, int(statement_s * 1000))}",
            )
        except psycopg.OperationalError as exc:
            raise TransientError(
                f"cannot connect to PostgreSQL at {parts.hostname}:{parts.port}: "
                f"{str(exc).strip().splitlines()[0]}"
            ) from None
        return conn, "postgresql"
    import pymysql

    try:
        conn = pymysql.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 3306,
            user=unquote(parts.username or "root"),
            password=unquote(parts.password or ""),
            database=(parts.path or "/").lstrip("/") or None,
            connect_timeout=max(1, int(timeout)),
            read_timeout=max(1, int(statement_s)),
            autocommit=True,
            charset="utf8mb4",
        )
    except pymysql.err.OperationalError as exc:
        raise TransientError(
            f"cannot connect to MySQL/MariaDB at {parts.hostname}:{parts.port}: {exc}"
        ) from None
    return conn, "mysql"


def _classify(exc: Exception, feed: str, dialect: str) -> Exception:
    """Map a driver error onto transient/terminal."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if dialect == "postgresql":
        import psycopg

        if isinstance(exc, psycopg.OperationalError):
            return TransientError(f"{feed}: the exchange database failed: {text}")
        return SourceError(
            f"{feed}: the exchange database rejected the query: {text}",
            hint="the department may have renamed or dropped a table or column; fix source.query",
        )
    import pymysql

    if (
        isinstance(exc, pymysql.err.OperationalError)
        and exc.args
        and exc.args[0] in (2003, 2006, 2013, 1205, 1213)
    ):
        return TransientError(f"{feed}: the exchange database failed: {text}")
    return SourceError(
        f"{feed}: the exchange database rejected the query: {text}",
        hint="the department may have renamed or dropped a table or column; fix source.query",
    )


def initial_watermark(source: DatabaseSource, ctx: FetchContext) -> str:
    start = ctx.now - source.initial
    return start.astimezone(ZoneInfo(ctx.timezone)).strftime("%Y-%m-%d %H:%M:%S")


def effective_since(source: DatabaseSource, ctx: FetchContext) -> str:
    if ctx.since is not None and ctx.watermark is None:
        return ctx.since.astimezone(ZoneInfo(ctx.timezone)).strftime("%Y-%m-%d %H:%M:%S")
    if ctx.watermark is None:
        return initial_watermark(source, ctx)
    if source.overlap:
        try:
            return (datetime.fromisoformat(ctx.watermark) - source.overlap).isoformat(sep=" ")
        except ValueError:
            return ctx.watermark
    return ctx.watermark


def _pages(
    cur: Any, query: str, params: dict[str, Any], order: list[str], size: int, feed: str
) -> Iterator[tuple[list[str], list[tuple[Any, ...]]]]:
    """Keyset pages: each statement asks for the rows after the last (watermark, keys…) already read,
    never for an offset, so a row that changes while paging (its watermark moves on) cannot shift the
    others past a page boundary: it is read again later, and none is skipped.

    Without key columns the watermark alone is the key: a full page's last watermark value is read as
    a whole group (every row with that value), so rows sharing it are neither split nor skipped.
    """
    wm = order[0]
    cols = ", ".join(order)
    after: tuple[Any, ...] | None = None
    page = 0
    while True:
        page += 1
        bound = dict(params)
        where = ""
        if after is not None:
            where = f" WHERE ({cols}) > ({', '.join(f'%(after_{i})s' for i in range(len(after)))})"
            bound.update({f"after_{i}": v for i, v in enumerate(after)})
        cur.execute(f"SELECT * FROM ({query}) AS cityops_q{where} ORDER BY {cols} LIMIT {int(size)}", bound)
        names = [d[0] for d in cur.description]
        rows = list(cur.fetchall())
        full = len(rows) >= size
        missing = [c for c in order if c not in names]
        if missing:
            raise SourceError(
                f"{feed}: the query result has no column {missing[0]!r} (columns: {', '.join(names)})"
            )
        idx = [names.index(c) for c in order]
        if full and len(order) == 1:
            last = rows[-1][idx[0]]
            cur.execute(
                f"SELECT * FROM ({query}) AS cityops_q WHERE {wm} = %(group)s", {**params, "group": last}
            )
            rows = [r for r in rows if r[idx[0]] != last] + list(cur.fetchall())
        yield names, rows
        if not full:
            return
        after = tuple(rows[-1][i] for i in idx) if len(order) > 1 else (rows[-1][idx[0]],)
        if any(v is None for v in after):
            column = order[after.index(None)]
            raise SourceError(
                f"{feed}: page {page} ends with a row whose {column!r} is empty; paging continues after "
                "the last row read, so the watermark and key columns must never be NULL",
                hint="filter such rows out in source.query, or choose key_columns that are always set",
            )


def fetch_database(source: DatabaseSource, ctx: FetchContext, writer: LandingWriter) -> FetchOutcome:
    """Fetch the query's rows into ``writer``. Its errors never quote the DSN's password or a URL's
    user-info: drivers' messages may, and they are recorded, logged and shown."""
    try:
        return _fetch_database(source, ctx, writer)
    except IngestError as exc:
        raise scrub_error(exc, source_secrets(source, ctx.environ)) from None


def _fetch_database(source: DatabaseSource, ctx: FetchContext, writer: LandingWriter) -> FetchOutcome:
    if not _IDENT.match(source.watermark_column):
        raise SourceError(
            f"{ctx.feed}: watermark_column {source.watermark_column!r} is not a plain column name"
        )
    try:
        dsn = resolve_secret(source.dsn, ctx.environ)
    except ConfigError as exc:
        raise SourceError(f"{ctx.feed}: {exc.message}", hint=exc.hint) from None
    since = effective_since(source, ctx)
    # ':since' → the driver's named placeholder; both psycopg and PyMySQL take %(name)s.
    query = source.query.replace("%", "%%").replace(":since", "%(since)s")
    wm = source.watermark_column
    order = [wm, *(c for c in source.key_columns if c != wm)]
    remaining = max(1.0, ctx.deadline - time.monotonic())
    conn, dialect = _connect(
        dsn, ctx.connect_timeout.total_seconds(), min(remaining, ctx.read_timeout.total_seconds() * 4)
    )
    host = urlsplit(dsn).hostname
    outcome = FetchOutcome(watermark=ctx.watermark)
    fetched = 0
    best: Any = None
    try:
        cur = conn.cursor()
        for names, rows in _pages(cur, query, {"since": since}, order, source.page_size, ctx.feed):
            if time.monotonic() > ctx.deadline:
                raise TransientError(f"{ctx.feed}: the exchange database query exceeded the fetch time limit")
            if rows:
                records = [dict(zip(names, r, strict=True)) for r in rows]
                body = json.dumps(records, default=_json_default, ensure_ascii=False).encode("utf-8")
                writer.add_part(body, "json", f"{dialect}://{host} since {since}", rows=len(rows))
                idx = names.index(wm)
                page_max = max((r[idx] for r in rows if r[idx] is not None), default=None)
                if page_max is not None and (best is None or page_max > best):
                    best = page_max
            fetched += len(rows)
            if ctx.on_progress:
                ctx.on_progress(ctx.feed, fetched, None)
    except (TransientError, SourceError):
        raise
    except Exception as exc:  # driver errors have no common base beyond Exception
        raise _classify(exc, ctx.feed, dialect) from None
    finally:
        with contextlib.suppress(Exception):
            conn.close()
    if best is not None:
        outcome.watermark = _json_default(best) if not isinstance(best, str) else best
    outcome.extra["since"] = since
    return outcome
