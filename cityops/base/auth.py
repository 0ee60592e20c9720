"""Who may do what: users and roles from the configuration, hashed passwords, display tokens.

Roles are ordered: ``viewer`` < ``analyst`` < ``operator`` < ``admin``; a role may do everything the
ones below it may. Viewing needs ``viewer``; acknowledging, assigning, commenting, resolving and
silencing warnings need ``operator``; replaying a feed run, re-rendering a snapshot, reading the
notification delivery log and reading the audit log need ``admin``.
A wall screen signs in with a *display token*: read-only, revocable, never expiring (a wall must not
fall into a login page at 3 a.m.).

Passwords are stored as ``scrypt$<n>$<r>$<p>$<salt>$<hash>`` (base64), made by
``cityops user hash-password``. Display tokens are kept as SHA-256 digests in the deployment's access
store (:mod:`cityops.base.access_store`), so that ``cityops display-token revoke`` works while servers
run (the DuckDB file is held by the server) and every web process sees it at the next request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from cityops.base.access_store import AccessStore, digest
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


def user_fingerprint(name: str, role: str, password_hash: str) -> str:
    """What a session remembers of its user: a change of role or password gives another value, and
    ends the sessions made before it."""
    return hashlib.sha256(f"{name}\0{role}\0{password_hash}".encode()).hexdigest()[:32]


# -- display tokens ------------------------------------------------------------------------------


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
    """The display tokens of one deployment, kept as digests in its access store (shown only once)."""

    def __init__(self, store: AccessStore) -> None:
        self.store = store

    @classmethod
    def for_settings(cls, settings: Any, environ: Mapping[str, str] | None = None) -> DisplayTokens:
        """The display tokens of the deployment a configuration describes."""
        return cls(AccessStore.for_settings(settings, environ))

    def list(self) -> list[DisplayToken]:
        return [
            DisplayToken(t["id"], t["name"], t["created_at"], t["revoked_at"]) for t in self.store.tokens()
        ]

    def create(self, name: str, *, now: datetime | None = None) -> tuple[DisplayToken, str]:
        """A new token for the screen ``name``; returns it with the secret (shown only now)."""
        name = name.strip()
        if not name:
            raise ConfigError("a display token needs a name (which screen it is for)")
        if any(t.name == name and t.active for t in self.list()):
            raise ConfigError(
                f"an active display token named {name!r} exists",
                hint="revoke it first or choose another name",
            )
        secret = "dt_" + secrets.token_urlsafe(24)
        token = DisplayToken(
            secrets.token_hex(4), name, (now or datetime.now(UTC)).isoformat(timespec="seconds")
        )
        self.store.add_token(token.token_id, name, digest(secret), token.created_at)
        return token, secret

    def revoke(self, ref: str, *, now: datetime | None = None) -> DisplayToken:
        """Revoke by id or name; takes effect on the screen's next request."""
        active = [t for t in self.list() if t.active]
        found = [t for t in active if ref in (t.token_id, t.name)]
        if not found:
            known = ", ".join(f"{t.token_id} ({t.name})" for t in active) or "none"
            raise ConfigError(f"no active display token {ref!r}", hint=f"active tokens: {known}")
        stamp = (now or datetime.now(UTC)).isoformat(timespec="seconds")
        self.store.revoke_tokens([t.token_id for t in found], stamp)
        t = found[0]
        return DisplayToken(t.token_id, t.name, t.created_at, stamp)

    def principal(self, secret: str | None) -> Principal | None:
        """The display principal of an active token, or None (unknown or revoked)."""
        if not secret or len(secret) > 200:
            return None
        t = self.store.token_by_digest(digest(secret))
        if t is None or t["revoked_at"]:
            return None
        return Principal(t["name"], "viewer", "display", t["name"])
