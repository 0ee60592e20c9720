"""HTML documents the server writes outside Dash (the sign-in page, a revoked screen's page), and
the one way the dashboard loads an HTML template: jinja2 with autoescape on and strict undefined
values, so that text from a user or a department is escaped by the template engine, never by hand.
"""

from __future__ import annotations

from functools import cache, partial
from pathlib import Path

import jinja2

from dashboard.i18n import t

TEMPLATES = Path(__file__).parent / "templates"


@cache
def html_environment(folder: Path) -> jinja2.Environment:
    """The jinja2 environment for the HTML templates in ``folder``."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _render(template_name: str, lang: str, **values: object) -> str:
    lang = lang if lang in ("zh", "en") else "zh"
    template = html_environment(TEMPLATES).get_template(template_name)
    return template.render(
        lang=lang,
        html_lang="zh-CN" if lang == "zh" else "en",
        other_lang="en" if lang == "zh" else "zh",
        t=partial(t, lang=lang),
        **values,
    )


def render_login_page(lang: str, next_path: str, message: str = "", name: str = "") -> str:
    """The sign-in form; ``message`` says why the last attempt failed, ``name`` is kept in its field."""
    return _render("login.html.j2", lang, next_path=next_path, message=message, name=name)


def render_display_denied_page(lang: str) -> str:
    """What a wall screen shows when its display token is revoked: no login form, a retry each minute."""
    return _render("display_denied.html.j2", lang)
