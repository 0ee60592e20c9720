"""Roles, password hashes and display tokens (pure, with real files)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from cityops.base.access_store import AccessStore
from cityops.base.auth import (
    PERMISSIONS,
    ROLES,
    DisplayTokens,
    PermissionDenied,
    Principal,
    hash_password,
    require,
    verify_password,
)
from cityops.base.errors import CityopsError, ConfigError
from cityops.base.settings import settings_from_dict


def test_password_hash_round_trip_and_salt() -> None:
    a, b = hash_password("河堤-2026"), hash_password("河堤-2026")
    assert a != b  # salted
    assert verify_password("河堤-2026", a) and verify_password("河堤-2026", b)
    assert not verify_password("河堤-2027", a)
    assert not verify_password("河堤-2026", "plaintext")
    assert not verify_password("x", a.replace("scrypt$16384", "scrypt$3"))  # n must be a power of two


def test_roles_are_ordered_and_checked() -> None:
    for action, need in PERMISSIONS.items():
        for role in ROLES:
            allowed = ROLES.index(role) >= ROLES.index(need)
            assert Principal("u", role).can(action) is allowed, (action, role)
    assert not Principal("", None).can("view")
    with pytest.raises(PermissionDenied, match="acknowledge needs the operator role"):
        require(Principal("guest", "viewer", "anonymous"), "acknowledge")


def test_users_in_config_need_a_real_hash_and_unique_names() -> None:
    good = hash_password("pw")
    with pytest.raises(ConfigError, match=r"auth\.users\.0\.password_hash"):
        settings_from_dict(
            {"auth": {"users": [{"name": "duty", "role": "operator", "password_hash": "secret"}]}}
        )
    with pytest.raises(ConfigError, match="given more than once"):
        settings_from_dict(
            {
                "auth": {
                    "users": [
                        {"name": "a", "role": "viewer", "password_hash": good},
                        {"name": "a", "role": "admin", "password_hash": good},
                    ]
                }
            }
        )
    with pytest.raises(ConfigError, match="role"):
        settings_from_dict({"auth": {"users": [{"name": "a", "role": "root", "password_hash": good}]}})
    s = settings_from_dict({"auth": {"users": [{"name": "a", "role": "operator", "password_hash": good}]}})
    assert s.auth.users[0].role == "operator"


def test_display_tokens_create_list_revoke_across_instances(tmp_path: Path) -> None:
    path = tmp_path / "data" / "access.sqlite3"
    server_side, cli_side = DisplayTokens(AccessStore(path)), DisplayTokens(AccessStore(path))
    token, secret = cli_side.create("hall-1")
    assert secret.encode() not in path.read_bytes()  # only the digest is kept
    who = server_side.principal(secret)
    assert who is not None and who.kind == "display" and who.role == "viewer" and who.name == "hall-1"
    assert not who.can("acknowledge")
    assert server_side.principal(secret + "x") is None and server_side.principal(None) is None
    with pytest.raises(CityopsError, match="exists"):
        cli_side.create("hall-1")
    _other, other_secret = cli_side.create("hall-2")
    cli_side.revoke(token.token_id)
    assert server_side.principal(secret) is None  # the server sees the other process's revocation
    assert server_side.principal(other_secret) is not None
    listed = {t.name: t.active for t in server_side.list()}
    assert listed == {"hall-1": False, "hall-2": True}
    with pytest.raises(CityopsError, match="no active display token 'hall-1'"):
        cli_side.revoke("hall-1")
    cli_side.revoke("hall-2")  # by name
    assert server_side.principal(other_secret) is None


def test_an_older_token_file_moves_into_the_store_and_screens_keep_their_tokens(tmp_path: Path) -> None:
    legacy = tmp_path / "display-tokens.json"
    secret = "dt_old-screen-secret"
    legacy.write_text(
        json.dumps(
            {
                "tokens": [
                    {
                        "id": "a1",
                        "name": "hall-1",
                        "created_at": "2026-01-01T00:00:00+00:00",
                        "sha256": hashlib.sha256(secret.encode()).hexdigest(),
                    },
                    {
                        "id": "b2",
                        "name": "old",
                        "created_at": "2026-01-01T00:00:00+00:00",
                        "sha256": "0" * 64,
                        "revoked_at": "2026-02-01T00:00:00+00:00",
                    },
                ]
            }
        ),
        "utf-8",
    )
    store = AccessStore(tmp_path / "access.sqlite3")
    assert store.import_legacy_tokens(legacy) == 2
    assert not legacy.exists() and (tmp_path / "display-tokens.json.imported").exists()
    tokens = DisplayTokens(store)
    assert tokens.principal(secret) is not None
    assert {t.name: t.active for t in tokens.list()} == {"hall-1": True, "old": False}


def test_a_damaged_token_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "display-tokens.json"
    path.write_text("{not json", "utf-8")
    with pytest.raises(ConfigError, match=r"display-tokens\.json: cannot read the display tokens"):
        AccessStore(tmp_path / "access.sqlite3").import_legacy_tokens(path)
