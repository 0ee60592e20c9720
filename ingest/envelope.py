"""Reading a JSON answer while it is fetched: the department's envelope, the page's records, and what
was received when the body is not what the feed declares. Pure: bytes in, values or errors out.

- a body that is an HTML page (a gateway's error or maintenance page) → :class:`SourceError` naming it
  as HTML, with its content type and first characters;
- a body that is not JSON, or JSON without the envelope's success path → terminal, saying what came;
- an envelope whose success value is not accepted → the department's own message, as a
  :class:`TransientError` when the department says it is busy, else a :class:`SourceError`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from cityops.base.settings.paging import Envelope
from ingest.errors import IngestError, ParseError, SourceError, TransientError
from ingest.parse import decode_text, dig, load_json_text

NO_RECORDS = "no_records"  # a landed part's mark: a success envelope with null where the records go
SNIPPET_CHARS = 200
MESSAGE_CHARS = 300

# A received body: the fetch hands on its growing buffer as it is rather than copying it.
Body = bytes | bytearray


def _snippet(text: str, limit: int) -> str:
    """``text`` on one line, at most ``limit`` characters, quoted with control characters escaped."""
    flat = " ".join(text.split())
    cut = flat[:limit] + ("…" if len(flat) > limit else "")
    return json.dumps(cut, ensure_ascii=False)


def is_html(body: Body, content_type: str | None) -> bool:
    """Whether a body is a web page: markup where JSON should start, or labelled HTML and not JSON-like
    (some departments' servers label JSON as text/html: that JSON is still read)."""
    head = body[:64].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<"):
        return not head.startswith(b"<?xml")
    return "html" in (content_type or "").lower() and not head.startswith((b"{", b"["))


def describe_body(body: Body, content_type: str | None) -> str:
    """What was received, for an error message: kind, content type, size and the first characters."""
    head = body[: SNIPPET_CHARS * 4]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = head.decode("gb18030")
        except UnicodeDecodeError:
            text = head.decode("utf-8", "replace")
    kind = "an HTML page" if is_html(body, content_type) else "a body"
    start = _snippet(text, SNIPPET_CHARS)
    return f"{kind} ({content_type or 'no content type'}, {len(body)} bytes) starting {start}"


def check_not_html(body: Body, content_type: str | None, what: str) -> None:
    """A terminal error when a JSON source answered with an HTML page."""
    if is_html(body, content_type):
        raise SourceError(
            f"{what} answered {describe_body(body, content_type)} instead of JSON",
            hint="the URL may point at a login, gateway or maintenance page; open it in a browser",
        )


def load_page(body: Body, content_type: str | None, what: str) -> Any:
    """The JSON document of one page; HTML and non-JSON bodies are terminal errors saying what came."""
    check_not_html(body, content_type, what)
    try:
        text, _ = decode_text(body, "auto", what=what)
    except ParseError as exc:
        raise ParseError(
            f"{what} is not JSON ({exc.message}): received {describe_body(body, content_type)}",
            hint="check the URL and the feed's source.format",
        ) from None
    try:
        return load_json_text(text)
    except json.JSONDecodeError as exc:
        raise ParseError(
            f"{what} is not JSON ({exc.msg}): received {describe_body(body, content_type)}",
            hint="check the URL and the feed's source.format",
        ) from None
    except ParseError as exc:  # JSON, but beyond what can be held: thousands of digits, deep nesting
        raise ParseError(
            f"{what} cannot be read as JSON ({exc.message}): received {describe_body(body, content_type)}",
            hint="the department's answer is malformed; ask them to check what their API sends",
        ) from None


def _norm(value: Any) -> str:
    """A JSON or configured value in one comparable form: 200 == "200", true != 1."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, str):
        return value.strip().lower() if value.strip().lower() in ("true", "false") else value.strip()
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _message(obj: Any, path: str | None) -> str:
    if not path:
        return "(no message path declared)"
    try:
        value = dig(obj, path)
    except ParseError:
        return f"(no message at {path!r})"
    if value is None or value == "":
        return f"(empty message at {path!r})"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return _snippet(text, MESSAGE_CHARS)


def check_envelope(obj: Any, envelope: Envelope, what: str, body: Body, content_type: str | None) -> None:
    """Nothing when the envelope says success; else the department's message as an error."""
    path, accepted, message_path, transient, fragments = envelope.resolved()
    try:
        if not isinstance(obj, dict):
            raise ParseError(f"a JSON {type(obj).__name__}, not an object")
        value = dig(obj, path)
    except ParseError:
        raise SourceError(
            f"{what} matches no envelope (no success flag at {path!r}): "
            f"received {describe_body(body, content_type)}",
            hint="check the feed's source.envelope (success_path) against what the department sends",
        ) from None
    if _norm(value) in {_norm(v) for v in accepted}:
        return
    message = _message(obj, message_path)
    shown = _snippet(value, 40) if isinstance(value, str) else json.dumps(value, ensure_ascii=False)[:40]
    text = f"{what}: the department answered {message} ({path} = {shown})"
    error: IngestError
    if _norm(value) in {_norm(v) for v in transient} or any(f and f in message for f in fragments):
        error = TransientError(text)
    else:
        error = SourceError(
            text, hint="the department's own message: check credentials and parameters, or ask them"
        )
    raise error


def page_items(obj: Any, records: str | None, what: str, *, enveloped: bool) -> list[Any] | None:
    """The records of one page. ``None`` when an accepted envelope holds null where the records go
    (a success with zero rows); a missing path is an error naming what the body has instead.
    """
    node = obj
    for i, part in enumerate(records.split(".") if records else []):
        if node is None and enveloped:
            return None
        node = dig(node, part, what=f"{what} (records path {records!r} at step {i + 1})")
    if node is None and enveloped:
        return None
    if not isinstance(node, list):
        raise ParseError(
            f"{what}: expected a list of records at {records or 'the top level'!r}, "
            f"got a JSON {type(node).__name__}",
            hint="set the feed's source.records to the dotted path of the list, e.g. 'data.items'",
        )
    return node


def page_digest(items: list[Any]) -> str:
    """A fingerprint of a page's records: the same records in the same order give the same digest."""
    text = json.dumps(items, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
