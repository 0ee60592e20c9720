"""Roles, password hashes and display tokens (pure, with real files)."""

from __future__ import annotations

from pathlib import Path

import pytest

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
    path = tmp_path / "data" / "display-tokens.json"
    server_side, cli_side = DisplayTokens(path), DisplayTokens(path)
    token, secret = cli_side.create("hall-1")
    assert secret not in path.read_text("utf-8")  # only the digest is kept
    assert oct(path.stat().st_mode & 0o777) == "0o600"
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


def test_a_damaged_token_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "display-tokens.json"
    path.write_text("{not json", "utf-8")
    with pytest.raises(ConfigError, match=r"display-tokens\.json: cannot read display tokens"):
        DisplayTokens(path).principal("dt_x")
