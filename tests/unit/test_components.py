"""Pieces every page shares."""

from __future__ import annotations


def _nav_targets(role: str | None) -> list[str]:
    from cityops.base.auth import NOBODY, Principal
    from dashboard.components import build_nav

    principal = NOBODY if role is None else Principal("u", role)
    links = build_nav("/wall", "zh", principal).children[0].children
    return [link.href.split("?")[0] for link in links]


def test_the_delivery_log_is_linked_for_administrators_only() -> None:
    assert "/notifications" in _nav_targets("admin")
    for role in ("operator", "analyst", "viewer", None):
        targets = _nav_targets(role)
        assert "/notifications" not in targets and "/warnings" in targets, role
