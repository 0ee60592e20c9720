"""What an endpoint answers: a status, a body and its content type, or an error the server turns into JSON."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["JSON_TYPE", "BadRequest", "HttpError", "Reply", "build_error_body", "build_json_reply"]

JSON_TYPE = "application/json; charset=utf-8"

# (HTTP status, body, Content-Type)
Reply = tuple[int, bytes, str]


class BadRequest(Exception):
    """A missing or malformed query parameter: HTTP 400 with the message."""


class HttpError(Exception):
    """Any other refusal (401, 404...), with an error code and extra response headers."""

    def __init__(self, status: int, error: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.error, self.message, self.headers = status, error, message, headers or {}


def build_error_body(status: int, error: str, message: str) -> bytes:
    """The JSON error body every endpoint shares: ``{"code", "error", "message"}``."""
    return json.dumps({"code": status, "error": error, "message": message}, ensure_ascii=False).encode(
        "utf-8"
    )


def build_json_reply(obj: Any) -> Reply:
    """200 with ``obj`` as compact UTF-8 JSON (Chinese text unescaped, as the departments send it)."""
    return (200, json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), JSON_TYPE)
