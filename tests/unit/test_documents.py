"""The HTML documents served outside Dash come from autoescaped templates."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from dashboard.documents import render_display_denied_page, render_login_page


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: dict[str, dict[str, str | None]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        named = dict(attrs)
        if named.get("id"):
            self.attrs[str(named["id"])] = named


def _parse(text: str) -> _Tags:
    parser = _Tags()
    parser.feed(text)
    return parser


def test_login_page_escapes_what_a_visitor_typed() -> None:
    hostile = '"><script>alert(1)</script>'
    page = render_login_page("en", "/warnings?id=1&x=2", message=f"no {hostile}", name=hostile)
    parsed = _parse(page)
    assert "script" not in parsed.tags
    assert parsed.attrs["login-name"]["value"] == hostile  # kept in the field, as text
    assert "&lt;script&gt;" in page
    assert 'href="/login?next=/warnings%3Fid%3D1%26x%3D2&amp;lang=zh"' in page


@pytest.mark.parametrize(("lang", "html_lang", "title"), [("zh", "zh-CN", "登录"), ("en", "en", "Sign in")])
def test_login_page_speaks_the_asked_language(lang: str, html_lang: str, title: str) -> None:
    page = render_login_page(lang, "/wall")
    assert f'<html lang="{html_lang}">' in page and f"<h2>{title}</h2>" in page
    assert "login-error" not in page  # no message, no empty alert


def test_an_unknown_language_falls_back_to_chinese() -> None:
    page = render_display_denied_page('"><b>')
    assert '<html lang="zh-CN">' in page and "<b>" not in page
    assert '<meta http-equiv="refresh" content="60">' in page
