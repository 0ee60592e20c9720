"""Sessions and display tokens, kept where every web process of one deployment sees them.

A sign-in is a row here, not a signed cookie: the browser holds a random secret and the store holds
its SHA-256 digest, so signing out, a password or role change or a removed user ends the session on
the server at once, for every process. Display tokens (the wall screens' read-only keys) live here
too, so ``cityops display-token revoke`` takes a screen off the air whichever process serves it.

Two backends, one schema and the same SQL:

- SQLite (default): a file in the data directory, for every process of one machine (WAL mode, so
  readers never wait on the one writer);
- PostgreSQL (``[auth] session_store = "postgresql://…"``): for web processes on several machines.

Times are wall-clock epoch seconds: a session's lifetime is real time even where the city's clock is
simulated (the demo).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cityops.base.errors import ConfigError

log = logging.getLogger("cityops.base.access_store")

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS cityops_session (
        digest      TEXT PRIMARY KEY,
        user_name   TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        created_at  DOUBLE PRECISION NOT NULL,
        seen_at     DOUBLE PRECISION NOT NULL,
        address     TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS cityops_session_user ON cityops_session (user_name)",
    """CREATE TABLE IF NOT EXISTS cityops_display_token (
        token_id    TEXT PRIMARY KEY,
        name        TEXT NOT NULL,
        sha256      TEXT NOT NULL UNIQUE,
        created_at  TEXT NOT NULL,
        revoked_at  TEXT
    )""",
)
# A session's last request is written at most this often (a page polls every few seconds).
TOUCH_EVERY_S = 60.0


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SessionRecord:
    user: str
    fingerprint: str
    created_at: float
    seen_at: float
    address: str | None


@dataclass(frozen=True)
class Lifetimes:
    idle_s: float
    absolute_s: float

    def expired(self, record: SessionRecord, now: float) -> str | None:
        """Why ``record`` has ended by ``now`` ("idle", "lifetime"), or None while it lasts."""
        if now - record.created_at >= self.absolute_s:
            return "lifetime"
        if now - record.seen_at >= self.idle_s:
            return "idle"
        return None


class AccessStore:
    """The sessions and display tokens of one deployment (SQLite file or PostgreSQL database)."""

    def __init__(self, target: Path | str, *, clock: Callable[[], float] = time.time) -> None:
        self.target = target
        self.clock = clock
        self.postgres = isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))
        self._local = threading.local()
        self._all: list[Any] = []
        self._all_lock = threading.Lock()
        if not self.postgres:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
        with self._cursor() as cur:
            for statement in SCHEMA:
                cur.execute(statement)

    @classmethod
    def for_settings(cls, settings: Any, environ: Mapping[str, str] | None = None) -> AccessStore:
        """The store a configuration names (a PostgreSQL URL, or the SQLite file in the data directory);
        display tokens of an older data directory (a JSON file) are moved in once."""
        from cityops.base.values import resolve_secret

        url = settings.auth.session_store
        store = cls(resolve_secret(url, environ) if url else settings.storage.access_store_path)
        store.import_legacy_tokens(settings.storage.display_tokens_path)
        return store

    @property
    def where(self) -> str:
        """The store for messages, without credentials."""
        if not self.postgres:
            return str(self.target)
        from cityops.base.redact import redact_url

        return redact_url(str(self.target))

    # -- connections ----------------------------------------------------------------------------

    def _connect(self) -> Any:
        if self.postgres:
            import psycopg

            try:
                return psycopg.connect(str(self.target), autocommit=True, connect_timeout=5)
            except psycopg.Error as exc:
                raise ConfigError(
                    f"cannot reach the session store {self.where}: {str(exc).strip()}",
                    hint="check [auth] session_store and that PostgreSQL is running",
                ) from None
        conn = sqlite3.connect(str(self.target), timeout=10, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
            with self._all_lock:
                self._all.append(conn)
        cur = conn.cursor()
        try:
            yield _Cursor(cur, self.postgres)
        except Exception:
            if self.postgres and conn.closed:  # a lost connection: the next call opens a new one
                self._local.conn = None
            raise
        finally:
            cur.close()

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                try:
                    conn.close()
                except Exception:  # closing is best effort
                    log.debug("closing a session-store connection failed", exc_info=True)
            self._all.clear()
        self._local = threading.local()

    # -- sessions -------------------------------------------------------------------------------

    def create_session(self, user: str, fingerprint: str, address: str | None) -> str:
        """A new session of ``user``; returns the secret for the browser's cookie (stored as a digest)."""
        secret = secrets.token_urlsafe(32)
        now = self.clock()
        with self._cursor() as cur:
            cur.execute(
                "INSERT INTO cityops_session (digest, user_name, fingerprint, created_at, seen_at, address)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (digest(secret), user, fingerprint, now, now, address),
            )
        return secret

    def session(self, secret: str | None, lifetimes: Lifetimes) -> SessionRecord | None:
        """The live session of ``secret`` (its last request noted), or None: unknown, ended or expired
        (an expired one is removed)."""
        if not secret or len(secret) > 200:
            return None
        key = digest(secret)
        with self._cursor() as cur:
            cur.execute(
                "SELECT user_name, fingerprint, created_at, seen_at, address FROM cityops_session"
                " WHERE digest = ?",
                (key,),
            )
            row = cur.fetchone()
            if row is None:
                return None
            record = SessionRecord(row[0], row[1], float(row[2]), float(row[3]), row[4])
            now = self.clock()
            if lifetimes.expired(record, now):
                cur.execute("DELETE FROM cityops_session WHERE digest = ?", (key,))
                return None
            if now - record.seen_at >= TOUCH_EVERY_S:
                cur.execute("UPDATE cityops_session SET seen_at = ? WHERE digest = ?", (now, key))
        return record

    def end_session(self, secret: str | None) -> SessionRecord | None:
        """End one session (sign-out); returns what it was."""
        if not secret:
            return None
        key = digest(secret)
        with self._cursor() as cur:
            cur.execute(
                "SELECT user_name, fingerprint, created_at, seen_at, address FROM cityops_session"
                " WHERE digest = ?",
                (key,),
            )
            row = cur.fetchone()
            cur.execute("DELETE FROM cityops_session WHERE digest = ?", (key,))
        return None if row is None else SessionRecord(row[0], row[1], float(row[2]), float(row[3]), row[4])

    def end_user_sessions(self, user: str) -> int:
        """End every session of ``user`` at once (password or role changed, user removed)."""
        with self._cursor() as cur:
            cur.execute("DELETE FROM cityops_session WHERE user_name = ?", (user,))
            return max(cur.rowcount, 0)

    def end_stale_sessions(self, fingerprints: Mapping[str, str]) -> dict[str, int]:
        """End the sessions of users who are gone or whose fingerprint changed; {user: sessions ended}."""
        with self._cursor() as cur:
            cur.execute("SELECT DISTINCT user_name, fingerprint FROM cityops_session")
            stale = sorted({u for u, f in cur.fetchall() if fingerprints.get(u) != f})
        ended: dict[str, int] = {}
        for user in stale:
            with self._cursor() as cur:
                cur.execute(
                    "DELETE FROM cityops_session WHERE user_name = ? AND fingerprint <> ?",
                    (user, fingerprints.get(user, "")),
                )
                if cur.rowcount:
                    ended[user] = cur.rowcount
        return ended

    def purge_expired(self, lifetimes: Lifetimes) -> int:
        now = self.clock()
        with self._cursor() as cur:
            cur.execute(
                "DELETE FROM cityops_session WHERE created_at <= ? OR seen_at <= ?",
                (now - lifetimes.absolute_s, now - lifetimes.idle_s),
            )
            return max(cur.rowcount, 0)

    def sessions_of(self, user: str) -> int:
        with self._cursor() as cur:
            cur.execute("SELECT count(*) FROM cityops_session WHERE user_name = ?", (user,))
            return int(cur.fetchone()[0])

    # -- display tokens -------------------------------------------------------------------------

    def tokens(self) -> list[dict[str, Any]]:
        with self._cursor() as cur:
            cur.execute(
                "SELECT token_id, name, sha256, created_at, revoked_at FROM cityops_display_token"
                " ORDER BY created_at, token_id"
            )
            cols = ("id", "name", "sha256", "created_at", "revoked_at")
            return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def add_token(self, token_id: str, name: str, sha256: str, created_at: str) -> None:
        with self._cursor() as cur:
            cur.execute(
                "INSERT INTO cityops_display_token (token_id, name, sha256, created_at) VALUES (?, ?, ?, ?)",
                (token_id, name, sha256, created_at),
            )

    def revoke_tokens(self, token_ids: Sequence[str], stamp: str) -> None:
        with self._cursor() as cur:
            for token_id in token_ids:
                cur.execute(
                    "UPDATE cityops_display_token SET revoked_at = ?"
                    " WHERE token_id = ? AND revoked_at IS NULL",
                    (stamp, token_id),
                )

    def token_by_digest(self, sha256: str) -> dict[str, Any] | None:
        with self._cursor() as cur:
            cur.execute(
                "SELECT token_id, name, sha256, revoked_at FROM cityops_display_token WHERE sha256 = ?",
                (sha256,),
            )
            row = cur.fetchone()
        if row is None or not hmac.compare_digest(row[2], sha256):
            return None
        return {"id": row[0], "name": row[1], "revoked_at": row[3]}

    def import_legacy_tokens(self, path: Path) -> int:
        """Move display tokens from an older data directory's JSON file into the store (once; the file
        is renamed ``*.imported``). Screens keep their tokens."""
        if not path.exists():
            return 0
        try:
            doc = json.loads(path.read_text("utf-8"))
            rows = [
                (t["id"], t["name"], t["sha256"], t["created_at"], t.get("revoked_at")) for t in doc["tokens"]
            ]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"{path}: cannot read the display tokens to move them into {self.where}: {exc}",
                hint="restore the file, or delete it and create new tokens",
            ) from None
        known = {t["id"] for t in self.tokens()}
        with self._cursor() as cur:
            for row in rows:
                if row[0] not in known:
                    cur.execute(
                        "INSERT INTO cityops_display_token (token_id, name, sha256, created_at, revoked_at)"
                        " VALUES (?, ?, ?, ?, ?)",
                        row,
                    )
        path.replace(path.with_name(path.name + ".imported"))
        log.info("moved %d display token(s) from %s into %s", len(rows), path, self.where)
        return len(rows)


class _Cursor:
    """A DB-API cursor taking ``?`` placeholders on both backends."""

    def __init__(self, cur: Any, postgres: bool) -> None:
        self._cur = cur
        self._postgres = postgres

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._cur.execute(sql.replace("?", "%s") if self._postgres else sql, tuple(params))

    def fetchone(self) -> Any:
        return self._cur.fetchone()

    def fetchall(self) -> list[Any]:
        return list(self._cur.fetchall())

    @property
    def rowcount(self) -> int:
        return int(self._cur.rowcount)
