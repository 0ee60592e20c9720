"""Sessions kept on the server, on both stores: the SQLite file every process of a machine shares and
the real local PostgreSQL that web processes on several machines share."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cityops.base.access_store import AccessStore, Lifetimes

LIFETIMES = Lifetimes(idle_s=600, absolute_s=3600)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgresql"])
def stores(request: Any, tmp_path: Path) -> Iterator[tuple[AccessStore, AccessStore, Clock]]:
    """Two processes' views of one store (a web process and another one), sharing a clock."""
    clock = Clock()
    if request.param == "sqlite":
        target: str | Path = tmp_path / "access.sqlite3"
        cleanup = None
    else:
        import psycopg

        dsn = request.getfixturevalue("pg_dsn")
        schema = f"access_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        target = f"{dsn}?options=-csearch_path%3D{schema}"

        def cleanup() -> None:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")

    one, two = AccessStore(target, clock=clock), AccessStore(target, clock=clock)
    yield one, two, clock
    one.close()
    two.close()
    if cleanup is not None:
        cleanup()


def test_a_session_is_seen_by_every_process_and_ends_everywhere_at_sign_out(stores: Any) -> None:
    web1, web2, _clock = stores
    secret = web1.create_session("duty", "fp-1", "10.0.0.5")
    record = web2.session(secret, LIFETIMES)
    assert record is not None and record.user == "duty" and record.address == "10.0.0.5"
    assert web2.session(secret + "x", LIFETIMES) is None and web2.session(None, LIFETIMES) is None
    assert web2.end_session(secret) is not None
    assert web1.session(secret, LIFETIMES) is None  # signed out on one process: gone on all
    assert web1.end_session(secret) is None


def test_idle_and_absolute_lifetimes_end_a_session(stores: Any) -> None:
    web1, web2, clock = stores
    secret = web1.create_session("duty", "fp-1", None)
    for _ in range(11):  # active every 5 minutes for 55 minutes: idle never runs out...
        clock.now += 300
        assert web2.session(secret, LIFETIMES) is not None
    clock.now += 300
    assert web1.session(secret, LIFETIMES) is None  # ...but the absolute lifetime (1 h) does
    idle = web1.create_session("duty", "fp-1", None)
    clock.now += 601
    assert web2.session(idle, LIFETIMES) is None  # 10 minutes without a request
    assert web1.sessions_of("duty") == 0  # an expired session is removed when met


def test_a_changed_or_removed_user_loses_every_session_at_once(stores: Any) -> None:
    web1, web2, _clock = stores
    a = [web1.create_session("duty", "fp-1", None) for _ in range(3)]
    b = web2.create_session("chief", "fp-c", None)
    gone = web2.create_session("temp", "fp-t", None)
    ended = web1.end_stale_sessions({"duty": "fp-2", "chief": "fp-c"})  # duty's password changed
    assert ended == {"duty": 3, "temp": 1}
    assert all(web2.session(s, LIFETIMES) is None for s in [*a, gone])
    assert web2.session(b, LIFETIMES) is not None
    fresh = web1.create_session("duty", "fp-2", None)
    assert web1.end_stale_sessions({"duty": "fp-2", "chief": "fp-c"}) == {}
    assert web2.session(fresh, LIFETIMES) is not None
    assert web2.end_user_sessions("chief") == 1 and web1.session(b, LIFETIMES) is None


def test_the_store_keeps_digests_only(tmp_path: Path) -> None:
    path = tmp_path / "access.sqlite3"
    store = AccessStore(path)
    secret = store.create_session("duty", "fp", None)
    store.close()
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("access.sqlite3"))
    assert secret.encode() not in data and b"duty" in data


def test_an_unreachable_postgres_store_is_a_clear_error() -> None:
    from cityops.base.errors import ConfigError

    with pytest.raises(
        ConfigError, match=r"cannot reach the session store postgresql://\*\*\*@127\.0\.0\.1:9/"
    ):
        AccessStore("postgresql://user:pw@127.0.0.1:9/x")
