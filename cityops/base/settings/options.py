"""Every option with its type, default and help: the table the docs and `cityops config options` print."""

from __future__ import annotations

import re

from pydantic import BaseModel

from cityops.base.settings.feeds import (
    DatabaseSource,
    DomainSettings,
    FeedSettings,
    FileSource,
    HttpSource,
    MetricSettings,
    Pagination,
    Schedule,
    Watermark,
)
from cityops.base.settings.paging import Envelope
from cityops.base.settings.root import Settings


def _type_name(annotation: object) -> str:
    """A type as the table shows it; models by the path they are imported from, not their submodule."""
    name = getattr(annotation, "__name__", None) or str(annotation)
    return re.sub(r"\bcityops\.base\.settings\.\w+\.", "cityops.base.settings.", name)


def describe_options() -> list[tuple[str, str, str, str]]:
    """(key, type, default, help) for every option: the table the docs and `cityops config` print."""
    rows: list[tuple[str, str, str, str]] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            if name == "source_path":
                continue
            ann = field.annotation
            key = f"{prefix}{name}"
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                walk(ann, key + ".")
                continue
            default = "" if field.is_required() else repr(field.get_default(call_default_factory=True))
            rows.append((key, _type_name(ann), default, field.description or ""))

    walk(Settings, "")
    for name, model in (
        ("feeds.<name>.", FeedSettings),
        ("feeds.<name>.source (http).", HttpSource),
        ("feeds.<name>.source (file).", FileSource),
        ("feeds.<name>.source (database).", DatabaseSource),
        ("feeds.<name>.source.pagination.", Pagination),
        ("feeds.<name>.source.envelope.", Envelope),
        ("feeds.<name>.source.since.", Watermark),
        ("feeds.<name>.schedule.", Schedule),
        ("domains.<name>.", DomainSettings),
        ("domains.<name>.metrics[].", MetricSettings),
    ):
        walk(model, name)
    return rows
