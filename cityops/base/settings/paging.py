"""How an HTTP feed's answer is read: the response envelope (success flag, message) and paging.

Many departmental APIs answer HTTP 200 with the failure inside the body
(``{"code": 500, "msg": "系统繁忙", "data": null}``); :class:`Envelope` says where the success flag
and the department's message are. :class:`Pagination` says how further pages are asked for and when
the last one has been read.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from cityops.base.settings.model import Section

EnvelopeValue = bool | int | float | str

# preset → (success path, accepted values, message path, transient values, transient message fragments)
ENVELOPE_PRESETS: dict[str, tuple[str, list[EnvelopeValue], str, list[EnvelopeValue], list[str]]] = {
    "code-msg-data": ("code", [0, 200], "msg", [500, 502, 503, 504], ["系统繁忙", "请稍后"]),
    "success-errmsg": ("success", [True], "errMsg", [], ["系统繁忙", "请稍后"]),
    "errcode-errmsg": ("errcode", [0], "errmsg", [-1], ["系统繁忙", "请稍后"]),
}


class Envelope(Section):
    preset: Literal["code-msg-data", "success-errmsg", "errcode-errmsg"] | None = Field(
        None,
        description="A common envelope: 'code-msg-data' (code 0/200 is success, message in 'msg'), "
        "'success-errmsg' (success = true, message in 'errMsg'), 'errcode-errmsg' (errcode 0, message "
        "in 'errmsg'). Keys set explicitly override the preset's.",
    )
    success_path: str | None = Field(
        None, description="Dotted path of the success flag or code in the body, e.g. 'code', 'data.status'."
    )
    success_values: list[EnvelopeValue] | None = Field(
        None, description="Values at success_path that mean success, e.g. [0, 200] or [true]."
    )
    message_path: str | None = Field(
        None, description="Dotted path of the department's message, e.g. 'msg', 'errMsg', 'errmsg'."
    )
    transient_values: list[EnvelopeValue] | None = Field(
        None, description="Values at success_path that mean 'busy, try again' (retried), e.g. [500]."
    )
    transient_messages: list[str] | None = Field(
        None,
        description="A failure whose message contains one of these is retried, e.g. ['系统繁忙'].",
    )

    @model_validator(mode="after")
    def _complete(self) -> Envelope:
        if self.preset is None:
            if not self.success_path:
                raise ValueError(
                    "success_path: required (the dotted path of the success flag, e.g. 'code'), "
                    "or set preset = 'code-msg-data' | 'success-errmsg' | 'errcode-errmsg'"
                )
            if not self.success_values:
                raise ValueError(
                    f"success_values: required with success_path = {self.success_path!r} "
                    "(the values that mean success, e.g. [0, 200] or [true])"
                )
        elif self.success_values is not None and not self.success_values:
            raise ValueError("success_values: empty; list the values that mean success, e.g. [0]")
        return self

    def resolved(self) -> tuple[str, list[EnvelopeValue], str | None, list[EnvelopeValue], list[str]]:
        """(success path, success values, message path, transient values, transient fragments)."""
        preset = ENVELOPE_PRESETS.get(self.preset or "")
        path = self.success_path or (preset[0] if preset else "")
        values = self.success_values or (preset[1] if preset else [])
        message = self.message_path or (preset[2] if preset else None)
        transient = (
            self.transient_values if self.transient_values is not None else (preset[3] if preset else [])
        )
        fragments = (
            self.transient_messages if self.transient_messages is not None else (preset[4] if preset else [])
        )
        return path, values, message, transient, fragments


PagingStyle = Literal["page", "offset", "next_url", "cursor"]
# An allowed host of next links: a name or [IPv6] address, a port, a scheme; no path, user or query.
_HOST_ENTRY = re.compile(
    r"^(https?://)?([A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?/?$"
)


class Pagination(Section):
    style: PagingStyle = Field(
        "page",
        description="How pages are requested: 'page' (page number), 'offset' (offset/limit), 'next_url' "
        "(the body gives the next page's URL), 'cursor' (the body gives a token for the next request).",
    )
    page_param: str = Field("page", description="Query parameter of the page number (style=page).")
    size_param: str = Field("size", description="Query parameter of the page size.")
    offset_param: str = Field("offset", description="Query parameter of the offset (style=offset).")
    size: int = Field(500, ge=1, description="Rows per page.")
    first_page: int = Field(1, ge=0, description="Number of the first page.")
    total_path: str | None = Field(
        None, description="Dotted path of the total row count in the body, e.g. 'data.total' (style=page)."
    )
    pages_path: str | None = Field(
        None, description="Dotted path of the page count in the body, e.g. 'data.pages' (style=page)."
    )
    next_path: str | None = Field(
        None,
        validate_default=True,
        description="Dotted path of the next page's URL (style=next_url); absent or empty on the last page.",
    )
    cursor_path: str | None = Field(
        None,
        validate_default=True,
        description="Dotted path of the next request's cursor in the body (style=cursor); "
        "absent or empty on the last page.",
    )
    cursor_param: str = Field("cursor", description="Query parameter that carries the cursor (style=cursor).")
    max_pages: int = Field(
        10_000, ge=1, description="Safety stop: reaching it before the last page fails the run (terminal)."
    )
    allow_hosts: list[str] = Field(
        default_factory=list,
        description="Other hosts a next link may lead to (style=next_url): 'host', 'host:port' (the feed "
        "URL's scheme) or 'https://host:port'. The feed's headers, secrets included, are sent there too. "
        "A link to any other scheme, host or port fails the run (terminal).",
    )

    @field_validator("total_path", "pages_path")
    @classmethod
    def _count_needs_pages(cls, value: str | None, info: ValidationInfo) -> str | None:
        style = info.data.get("style")
        if value is not None and style != "page":
            raise ValueError(
                f"a row or page count is read with style = 'page' only, not with style = {style!r} "
                "(offset, next_url and cursor paging stop at a short or empty page, or a missing link)"
            )
        if info.field_name == "pages_path" and value is not None and info.data.get("total_path"):
            raise ValueError("set pages_path or total_path, not both")
        return value

    @field_validator("next_path")
    @classmethod
    def _next_for_next_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        style = info.data.get("style")
        if style == "next_url" and not value:
            raise ValueError(
                "required with style = 'next_url': the dotted path of the next page's URL, e.g. 'links.next'"
            )
        if style != "next_url" and value:
            raise ValueError(f"only used with style = 'next_url', not with style = {style!r}")
        return value

    @field_validator("cursor_path")
    @classmethod
    def _cursor_for_cursor(cls, value: str | None, info: ValidationInfo) -> str | None:
        style = info.data.get("style")
        if style == "cursor" and not value:
            raise ValueError(
                "required with style = 'cursor': the dotted path of the next cursor in the body, "
                "e.g. 'data.nextCursor'"
            )
        if style != "cursor" and value:
            raise ValueError(f"only used with style = 'cursor', not with style = {style!r}")
        return value

    @field_validator("allow_hosts")
    @classmethod
    def _plain_hosts(cls, value: list[str], info: ValidationInfo) -> list[str]:
        style = info.data.get("style")
        if value and style != "next_url":
            raise ValueError(f"only used with style = 'next_url', not with style = {style!r}")
        for entry in value:
            if not _HOST_ENTRY.match(entry):
                raise ValueError(f"'host', 'host:port' or 'https://host:port', not {entry!r}")
        return value
