"""Secrets never reach a page, a log or a report: URLs and free text with their secrets masked.

A feed's URL may carry a key in its query string (``?appKey=…``) or a user and password
(``postgresql://user:pass@host/db``); error messages of HTTP and database clients quote such URLs. Every
URL the platform records or shows goes through :func:`redact_url`, every message through
:func:`redact_text` (which also masks the known secret values of the configuration), and the log
handlers the command line installs carry a :class:`RedactingFilter`.

>>> redact_url("https://ops:pw@api.example.cn/v1/water?appKey=SECRET&page=2#top")
'https://***@api.example.cn/v1/water?appKey=***&page=***#top'
>>> redact_text("Server error '503' for url 'http://h:81/p?key=SECRET' (after 3 attempts)")
"Server error '503' for url 'http://h:81/p?key=***' (after 3 attempts)"
>>> redact_text("header token abcd1234 refused", ["abcd1234"])
'header token *** refused'
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus, unquote, urlsplit

MASK = "***"
MIN_SECRET_LENGTH = 4  # shorter values ("1", "on") would mask ordinary words in messages

# A scheme, then everything up to white space or a character that never appears unquoted in a URL.
_URL_IN_TEXT = re.compile(r"""[A-Za-z][A-Za-z0-9+.\-]{1,20}://[^\s'"<>`\\]+""")
_AUTHORITY_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://)([^/?#]*)@")
_TRAILING_PUNCTUATION = ".,;:!?"
# Names of parameters and headers whose values are credentials.
_SECRET_NAME = re.compile(
    r"key|token|secret|pass|pwd|auth|sign|sig$|credential|session|cookie|ticket|access", re.IGNORECASE
)
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _mask_pairs(text: str) -> str:
    """``a=1&b=2`` → ``a=***&b=***``; an item without ``=`` is a value on its own and is masked too."""
    out: list[str] = []
    for item in text.split("&"):
        if not item:
            out.append(item)
        elif "=" in item:
            name, _, value = item.partition("=")
            out.append(f"{name}={MASK}" if value else f"{name}=")
        else:
            out.append(MASK)
    return "&".join(out)


def redact_url(url: str) -> str:
    """``url`` with its user-info and every query value masked; scheme, host, port, path and the
    parameters' names stay, so the message still says where. Never raises; text that is not a URL
    comes back unchanged.

    >>> redact_url("http://127.0.0.1:8080/api/aqi")
    'http://127.0.0.1:8080/api/aqi'
    >>> redact_url("http://[::1]:8080/p?appKey=SECRET123&page=1")
    'http://[::1]:8080/p?appKey=***&page=***'
    >>> redact_url("mysql://root:s3cr%40t@db.local:3306/exchange")
    'mysql://***@db.local:3306/exchange'
    >>> redact_url("https://h/p?sig=a%2Bb%3D%3D&empty=&flag")
    'https://h/p?sig=***&empty=&***'
    >>> redact_url("https://h/cb#access_token=SECRET&state=1")
    'https://h/cb#access_token=***&state=***'
    >>> redact_url("https://h/docs#section-2")
    'https://h/docs#section-2'
    >>> redact_url("not a url")
    'not a url'
    >>> redact_url("http://[::1/p?k=v")
    'http://[::1/p?k=***'
    """
    if not isinstance(url, str):
        return url
    try:
        rest = _AUTHORITY_USERINFO.sub(lambda m: f"{m.group(1)}{MASK}@", url, count=1)
        rest, hash_, fragment = rest.partition("#")
        base, question, query = rest.partition("?")
        out = base + (question + _mask_pairs(query) if question else "")
        if hash_:
            out += hash_ + (_mask_pairs(fragment) if "=" in fragment else fragment)
        return out
    except Exception:  # a redactor must never be the thing that fails: mask the whole text instead
        return MASK


def _url_span(match: str) -> tuple[str, str]:
    """A URL found in text and what follows it that belongs to the sentence (closing brackets and
    punctuation): ``"(see http://h/p?k=v)."`` → ``("http://h/p?k=v", ").")``."""
    url, tail = match, ""
    while url:
        last = url[-1]
        if last in _TRAILING_PUNCTUATION or (
            last in ")]}" and url.count(last) > url.count({")": "(", "]": "[", "}": "{"}[last])
        ):
            url, tail = url[:-1], last + tail
        else:
            break
    return url, tail


def _secret_forms(secrets: Iterable[str]) -> list[str]:
    forms: set[str] = set()
    for secret in secrets:
        if not isinstance(secret, str) or len(secret) < MIN_SECRET_LENGTH:
            continue
        forms.update({secret, quote(secret, safe=""), quote_plus(secret)})
    # Longest first, so that a secret containing another is masked whole.
    return sorted((f for f in forms if len(f) >= MIN_SECRET_LENGTH), key=len, reverse=True)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every URL in it redacted (:func:`redact_url`) and every occurrence of a known
    secret value (at least four characters; also percent-encoded) replaced by ``***``. Never raises.

    >>> redact_text("timed out (see https://h/p?token=abc).")
    'timed out (see https://h/p?token=***).'
    >>> redact_text('ConnectError: "postgresql://u:pw@10.0.0.5:5432/x" refused')
    'ConnectError: "postgresql://***@10.0.0.5:5432/x" refused'
    >>> redact_text("PM2.5 = 35 µg/m³ at 清城区; ratio 1:2")
    'PM2.5 = 35 µg/m³ at 清城区; ratio 1:2'
    >>> redact_text("key a b+c/d", ["a b+c/d", "no"])
    'key ***'
    >>> redact_text("http://h/?k=1 and http://h/?k=2 (wiki http://w/A_(b)?x=y)")
    'http://h/?k=*** and http://h/?k=*** (wiki http://w/A_(b)?x=***)'
    """
    if not isinstance(text, str):
        return text
    try:

        def one(m: re.Match[str]) -> str:
            url, tail = _url_span(m.group(0))
            return redact_url(url) + tail

        out = _URL_IN_TEXT.sub(one, text)
        for form in _secret_forms(secrets):
            out = out.replace(form, MASK)
        return out
    except Exception:  # never the thing that fails
        return MASK


def secret_values(
    *,
    references: Iterable[str] = (),
    named: Mapping[str, str] | None = None,
    urls: Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
) -> set[str]:
    """The secret values configured in plain strings, resolved against ``environ``:

    - ``references``: values that may name environment variables (``${NAME}``): each variable's value
      and the whole resolved value are secrets;
    - ``named``: name → value pairs (headers, query parameters): the values of names that look like
      credentials (``Authorization``, ``appKey``, ``token``…) are secrets, and so are those that come
      from the environment;
    - ``urls``: the password in a URL's user-info and the values of its credential-looking parameters.

    >>> sorted(secret_values(references=["Bearer ${TOKEN}"], environ={"TOKEN": "tk-1234"}))
    ['Bearer tk-1234', 'tk-1234']
    >>> sorted(secret_values(named={"appKey": "K-42x", "page": "10", "Accept": "text/csv"}))
    ['K-42x']
    >>> sorted(secret_values(urls=["mysql://root:pa%40ss@h/db?token=zzzz&page=3"]))
    ['pa%40ss', 'pa@ss', 'zzzz']
    """
    env = environ or {}
    found: set[str] = set()

    def resolve(value: str) -> str:
        names = _ENV_REFERENCE.findall(value)
        for name in names:
            if env.get(name):
                found.add(env[name])
        return _ENV_REFERENCE.sub(lambda m: env.get(m.group(1), m.group(0)), value)

    for value in references:
        if isinstance(value, str) and _ENV_REFERENCE.search(value):
            found.add(resolve(value))
    for name, value in (named or {}).items():
        if not isinstance(value, str):
            continue
        resolved = resolve(value)
        if _ENV_REFERENCE.search(value) or _SECRET_NAME.search(str(name)):
            found.add(resolved)
    for url in urls:
        if not isinstance(url, str):
            continue
        resolved = resolve(url)
        try:
            parts = urlsplit(resolved)
            if parts.password:
                found.update({parts.password, unquote(parts.password)})
            for item in parts.query.split("&"):
                name, eq, value = item.partition("=")
                if eq and value and _SECRET_NAME.search(name):
                    found.update({value, unquote(value)})
        except ValueError:
            continue
    return {s for s in found if len(s) >= MIN_SECRET_LENGTH}


class RedactingFilter(logging.Filter):
    """Masks URLs and known secrets in a record's final message (its arguments merged in first) and in
    the text of an attached exception, so that no handler it sits on writes a secret.

    ``secrets`` may grow after the handlers are set up (:meth:`add_secrets`), once the settings are
    read."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets: set[str] = set(secrets)

    def add_secrets(self, secrets: Iterable[str]) -> None:
        self._secrets.update(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format: let logging report it as it would
            return True
        record.msg = redact_text(message, self._secrets)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            # The formatter caches the traceback text here; fill it in redacted.
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact_text(text, self._secrets)
        elif record.exc_text:
            record.exc_text = redact_text(record.exc_text, self._secrets)
        return True


def install_redaction(handlers: Iterable[logging.Handler], secrets: Iterable[str] = ()) -> RedactingFilter:
    """One :class:`RedactingFilter` on each of ``handlers`` (the same instance); returns it."""
    filt = RedactingFilter(secrets)
    for handler in handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(filt)
    return filt


def add_logging_secrets(secrets: Iterable[str], logger: logging.Logger | None = None) -> None:
    """Tell the :class:`RedactingFilter` on ``logger``'s handlers (the root's by default) these secrets."""
    for handler in (logger or logging.getLogger()).handlers:
        for filt in handler.filters:
            if isinstance(filt, RedactingFilter):
                filt.add_secrets(secrets)


#: Libraries whose own log records quote request URLs (httpx logs "HTTP Request: GET <url>" at INFO).
CLIENT_LOGGERS = ("httpx", "httpcore")


def redact_logger_records(names: Iterable[str] = CLIENT_LOGGERS) -> None:
    """A :class:`RedactingFilter` on each named logger itself (idempotent), so that its records are
    redacted before any handler sees them — whoever configured the handlers."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
