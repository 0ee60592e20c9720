"""`cityops display-token` and `cityops user` as an administrator runs them (real processes)."""

from __future__ import annotations

import re
from pathlib import Path

from cityops.base.access_store import AccessStore
from cityops.base.auth import DisplayTokens, verify_password
from tests.helpers import run_cityops


def test_display_token_create_list_revoke(tmp_path: Path) -> None:
    config = tmp_path / "cityops.toml"
    config.write_text('[storage]\ndata_dir = "data"\n[server]\nport = 8123\n', "utf-8")
    created = run_cityops("display-token", "create", "hall-1", "--config", str(config), cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    secret = re.search(r"\bdt_[A-Za-z0-9_-]+", created.stdout)
    assert secret is not None and f"http://127.0.0.1:8123/wall?token={secret.group(0)}" in created.stdout
    tokens = DisplayTokens(AccessStore(tmp_path / "data" / "access.sqlite3"))
    assert tokens.principal(secret.group(0)) is not None
    listed = run_cityops("display-token", "list", "--config", str(config), cwd=tmp_path)
    assert "hall-1" in listed.stdout and secret.group(0) not in listed.stdout
    again = run_cityops("display-token", "create", "hall-1", "--config", str(config), cwd=tmp_path)
    assert again.returncode == 2 and "an active display token named 'hall-1' exists" in again.stderr
    revoked = run_cityops("display-token", "revoke", "hall-1", "--config", str(config), cwd=tmp_path)
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    assert tokens.principal(secret.group(0)) is None
    missing = run_cityops("display-token", "revoke", "nope", "--config", str(config), cwd=tmp_path)
    assert missing.returncode == 2 and "no active display token 'nope'" in missing.stderr


def test_hash_password_from_stdin(tmp_path: Path) -> None:
    result = run_cityops("user", "hash-password", "--stdin", cwd=tmp_path, stdin="值班-pw\n", timeout=60)
    assert result.returncode == 0, result.stderr
    stored = result.stdout.strip()
    assert verify_password("值班-pw", stored) and not verify_password("值班-pw\n", stored)
    empty = run_cityops("user", "hash-password", "--stdin", cwd=tmp_path, stdin="\n", timeout=60)
    assert empty.returncode == 2 and "the password is empty" in empty.stderr
