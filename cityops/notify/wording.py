"""The words of a message (labels, headline, facts) and the one way bot markup is made from them.

Multi-line bot messages come from the jinja2 templates in ``templates/``, rendered by
:func:`render_message`, which makes every printed value safe for bot markdown.
"""

from __future__ import annotations

import functools
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from cityops.notify.message import Notification

LEVEL_ZH: dict[str, str] = {"red": "红色", "orange": "橙色", "yellow": "黄色", "blue": "蓝色"}
EVENT_ZH: dict[str, str] = {
    "raised": "发布",
    "escalated": "升级",
    "deescalated": "降级",
    "resolved": "解除",
    "reminder": "未确认提醒",
    "snapshot": "每日快照",
}
STATE_ZH: dict[str, str] = {
    "pending": "待生效",
    "active": "生效中",
    "acknowledged": "已确认",
    "resolved": "已解除",
    "suppressed": "已抑制",
}
TEMPLATES = Path(__file__).parent / "templates"


# -- feed text made safe ------------------------------------------------------------------------------


def flatten(value: object) -> str:
    """Feed text as one line without angle brackets: it cannot start a quote, list item or heading, nor
    open a tag, in bot markup."""
    text = " ".join(str(value).split())
    return text.replace("<", "＜").replace(">", "＞")


def plain(value: object, limit: int = 300) -> str:
    """Feed text made safe to put inside bot markup: one line, no angle brackets, bounded length."""
    text = flatten(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Markdown(str):
    """Text already made safe for its place in bot markdown; :func:`render_message` prints it as is."""

    __slots__ = ()


def escape_md_url(url: str) -> Markdown:
    """A URL safe inside markdown ``[text](url)``: characters that would end the link are escaped."""
    return Markdown(
        url.strip()
        .replace(" ", "%20")
        .replace("(", "%28")
        .replace(")", "%29")
        .replace("<", "%3C")
        .replace(">", "%3E")
    )


def cut_utf8(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` of UTF-8, ending with "…" when cut."""
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    return data[: max_bytes - len("…".encode())].decode("utf-8", "ignore") + "…"


# -- templates ----------------------------------------------------------------------------------------


def _finalize(value: object) -> str:
    # Jinja2's autoescape is HTML escaping, wrong for bot markdown: "&lt;" would show literally, and a line
    # break in feed text would still start a new quote, list item or heading. So autoescape is off and
    # every printed value passes through here, where no template can forget it; only text the code has
    # escaped for its place (a link target, see escape_md_url) is printed as is.
    return value if isinstance(value, Markdown) else flatten(value)


@functools.cache
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=False,
        finalize=_finalize,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["md_url"] = escape_md_url
    return env


def render_message(template: str, **values: object) -> str:
    """The text of ``templates/<template>`` filled with ``values``, each made safe for bot markup (with
    its ``md_url`` filter for link targets). The file's final line break is not part of the message."""
    return _environment().get_template(template).render(**values).removesuffix("\n")


# -- what every format says ---------------------------------------------------------------------------


def format_local(at: datetime, tz: ZoneInfo) -> str:
    """``at`` as local ``YYYY-MM-DD HH:MM`` in ``tz``."""
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def level_label(level: str) -> str:
    """``"orange"`` → ``"橙色预警"``."""
    return f"{LEVEL_ZH.get(level, level)}预警"


def headline(note: Notification) -> str:
    """``【橙色预警】北江水位超警戒 · 升级`` — the first line every format shows."""
    if note.event == "snapshot":
        return f"【{EVENT_ZH['snapshot']}】{plain(note.rule_title, 100)}"
    return f"【{level_label(note.level)}】{plain(note.rule_title, 100)} · {EVENT_ZH[note.event]}"


def describe_event(note: Notification) -> str:
    """``升级：黄色 → 橙色`` — what happened to the warning, in one line."""
    if note.event in ("escalated", "deescalated") and note.previous_level:
        return f"{EVENT_ZH[note.event]}：{LEVEL_ZH[note.previous_level]} → {LEVEL_ZH[note.level]}"
    if note.event == "resolved":
        return f"解除：{level_label(note.level)}已解除"
    if note.event == "reminder":
        return f"提醒：{level_label(note.level)}尚未确认"
    return f"{EVENT_ZH[note.event]}：{level_label(note.level)}"


def list_facts(note: Notification, tz: ZoneInfo) -> list[tuple[str, str]]:
    """(label, value) pairs shown under the summary."""
    rows: list[tuple[str, str]] = []
    if note.event != "snapshot":
        rows.append(("级别", level_label(note.level)))
    rows.append(("区县", plain(note.district, 60)))
    if note.entity_name:
        rows.append(("对象", plain(note.entity_name, 100)))
    rows.append(("部门", plain(note.department, 60)))
    if note.event != "snapshot":
        rows.append(("状态", STATE_ZH.get(note.state, plain(note.state, 30))))
        rows.append(("首次发布", format_local(note.raised_at, tz)))
    rows.append(("时间", format_local(note.at, tz)))
    return rows
