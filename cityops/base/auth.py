"""Who may do what: users and roles from the configuration, hashed passwords, display tokens.

Roles are ordered: ``viewer`` < ``analyst`` < ``operator`` < ``admin``; a role may do everything the
ones below it may. Viewing needs ``viewer``; acknowledging, assigning, commenting, resolving and
silencing warnings need ``operator``; replaying a feed run, re-rendering a snapshot, reading the
notification delivery log and reading the audit log need ``admin``.
A wall screen signs in with a *display token*: read-only, revocable, never expiring (a wall must not
fall into a login page at 3 a.m.).

Passwords are stored as ``scrypt$<n>$<r>$<p>$<salt>$<hash>`` (base64), made by
``cityops user hash-password``. Display tokens are kept as SHA-256 digests in a small JSON file in the
data directory, so that ``cityops display-token revoke`` works while the server runs (the DuckDB file
is held by the server); the server re-reads the file when it changes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from cityops.base.errors import ConfigError

Role = Literal["viewer", "analyst", "operator", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "analyst", "operator", "admin")
RANK = {r: i for i, r in enumerate(ROLES)}

# What each action needs; checked on the server for every request that performs it.
PERMISSIONS: dict[str, Role] = {
    "view": "viewer",
    "export": "viewer",
    "acknowledge": "operator",
    "assign": "operator",
    "comment": "operator",
    "resolve": "operator",
    "silence": "operator",
    "replay": "admin",
    "rerender": "admin",
    "notify_log": "admin",
    "audit": "admin",
}

_SCRYPT = re.compile(r"^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$")
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """A salted scrypt hash for the configuration file."""
    if not password:
        raise ValueError("a password must not be empty")
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32)
    return f"scrypt${n}${r}${p}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def check_hash_format(value: str) -> str:
    if not _SCRYPT.match(value):
        raise ValueError("not a password hash made by `cityops user hash-password` (scrypt$n$r$p$salt$hash)")
    return value


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored``; constant-time comparison."""
    m = _SCRYPT.match(stored)
    if m is None:
        return False
    n, r, p = (int(m.group(i)) for i in (1, 2, 3))
    salt, expected = base64.b64decode(m.group(4)), base64.b64decode(m.group(5))
    try:
        digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=len(expected))
    except ValueError:  # parameters out of range for this machine
        return False
    return hmac.compare_digest(digest, expected)


@dataclass(frozen=True)
class Principal:
    """Who is asking: a signed-in user, a wall display, or the anonymous viewer (when allowed)."""

    name: str
    role: Role | None  # None: nobody (not signed in, no anonymous viewing)
    kind: Literal["user", "display", "anonymous"] = "user"
    display_name: str = ""

    def can(self, action: str) -> bool:
        need = PERMISSIONS[action]
        return self.role is not None and RANK[self.role] >= RANK[need]

    @property
    def label(self) -> str:
        return self.display_name or self.name


NOBODY = Principal("", None, "anonymous")


class PermissionDenied(Exception):
    """An action was attempted without the role it needs."""

    def __init__(self, principal: Principal, action: str) -> None:
        who = principal.label or "not signed in"
        super().__init__(
            f"{action} needs the {PERMISSIONS[action]} role; {who} has {principal.role or 'none'}"
        )
        self.action = action


def require(principal: Principal, action: str) -> None:
    if not principal.can(action):
        raise PermissionDenied(principal, action)


# -- display tokens ------------------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class DisplayToken:
    token_id: str
    name: str
    created_at: str
    revoked_at: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class DisplayTokens:
    """The display tokens of one data directory (a JSON file of digests; the tokens are shown once)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._cache: tuple[float, int, dict[str, Any]] | None = None

    def _read(self) -> dict[str, Any]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return {"tokens": []}
        with self._lock:
            if self._cache is not None and self._cache[:2] == (st.st_mtime, st.st_size):
                return self._cache[2]
            try:
                doc = json.loads(self.path.read_text("utf-8"))
            except (OSError, ValueError) as exc:
                raise ConfigError(
                    f"{self.path}: cannot read display tokens: {exc}",
                    hint="restore the file or delete it and create new tokens",
                ) from None
            self._cache = (st.st_mtime, st.st_size, doc)
            return doc

    def _write(self, doc: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=1), "utf-8")
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def list(self) -> list[DisplayToken]:
        return [
            DisplayToken(t["id"], t["name"], t["created_at"], t.get("revoked_at"))
            for t in self._read()["tokens"]
        ]

    def create(self, name: str, *, now: datetime | None = None) -> tuple[DisplayToken, str]:
        """A new token for the screen ``name``; returns it with the secret (shown only now)."""
        name = name.strip()
        if not name:
            raise ConfigError("a display token needs a name (which screen it is for)")
        doc = self._read()
        if any(t["name"] == name and not t.get("revoked_at") for t in doc["tokens"]):
            raise ConfigError(
                f"an active display token named {name!r} exists",
                hint="revoke it first or choose another name",
            )
        secret = "dt_" + secrets.token_urlsafe(24)
        token = DisplayToken(
            secrets.token_hex(4), name, (now or datetime.now(UTC)).isoformat(timespec="seconds")
        )
        doc = {
            "tokens": [
                *doc["tokens"],
                {
                    "id": token.token_id,
                    "name": name,
                    "created_at": token.created_at,
                    "sha256": _digest(secret),
                },
            ]
        }
        self._write(doc)
        return token, secret

    def revoke(self, ref: str, *, now: datetime | None = None) -> DisplayToken:
        """Revoke by id or name; takes effect on the screen's next refresh."""
        doc = self._read()
        found = [t for t in doc["tokens"] if (t["id"] == ref or t["name"] == ref) and not t.get("revoked_at")]
        if not found:
            known = (
                ", ".join(f"{t['id']} ({t['name']})" for t in doc["tokens"] if not t.get("revoked_at"))
                or "none"
            )
            raise ConfigError(f"no active display token {ref!r}", hint=f"active tokens: {known}")
        stamp = (now or datetime.now(UTC)).isoformat(timespec="seconds")
        tokens = [dict(t, revoked_at=stamp) if t in found else t for t in doc["tokens"]]
        self._write({"tokens": tokens})
        t = found[0]
        return DisplayToken(t["id"], t["name"], t["created_at"], stamp)

    def principal(self, secret: str | None) -> Principal | None:
        """The display principal of an active token, or None (unknown or revoked)."""
        if not secret:
            return None
        digest = _digest(secret)
        for t in self._read()["tokens"]:
            if hmac.compare_digest(t.get("sha256", ""), digest) and not t.get("revoked_at"):
                return Principal(t["name"], "viewer", "display", t["name"])
        return None
