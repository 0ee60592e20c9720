"""Errors of the ingest pipeline, by category rather than by message text.

    IngestError                 (cityops.base.errors.CityopsError) a run could not complete
    ├── TransientError          worth retrying with backoff: timeouts, connection refused, HTTP 5xx,
    │                           a database that is briefly unavailable
    │   └── TimeLimitError      the run's time limit ran out before its next request (never retried:
    │                           the run's time is up; the cause is usually an earlier error)
    └── TerminalError           retrying will not help until someone changes something
        ├── SourceError         HTTP 4xx, missing file, SQL error, payload over the size limit
        ├── ParseError          the payload cannot be read at all (malformed JSON, truncated CSV,
        │                       wrong encoding, empty payload)
        └── SchemaDriftError    the payload parses but a mapped field is missing or renamed

Row-level problems (wrong types, out-of-range values, duplicates, future timestamps) are not errors:
those rows go to quarantine with a reason, and the rest of the payload lands.
"""

from __future__ import annotations

from cityops.base.errors import CityopsError


class IngestError(CityopsError):
    """A feed run failed. ``retryable`` tells the scheduler whether to try again now."""

    retryable = False


class TransientError(IngestError):
    """A failure that may go away by itself (timeout, refused connection, 5xx)."""

    retryable = True


class TimeLimitError(TransientError):
    """The run's time limit ran out before the next request could start."""


class TerminalError(IngestError):
    """A failure that needs a person (bad request, bad payload, changed schema)."""


class SourceError(TerminalError):
    """The source refused or could not serve the request."""


class ParseError(TerminalError):
    """The payload cannot be parsed."""


class SchemaDriftError(TerminalError):
    """A field the mapping needs is missing from the payload."""
