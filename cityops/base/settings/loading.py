"""Loading: the TOML file, ``CITYOPS__SECTION__KEY`` overrides, relative paths, and one error line.

Any problem becomes one :class:`~cityops.base.errors.ConfigError` that names the file, the line when it
can be found, the key and what is allowed.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cityops.base.errors import ConfigError
from cityops.base.settings.feeds import FileSource
from cityops.base.settings.root import Settings


def _apply_env_overrides(data: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    for key, value in environ.items():
        if not key.startswith("CITYOPS__"):
            continue
        path = [p.lower() for p in key[len("CITYOPS__") :].split("__") if p]
        if not path:
            continue
        node = data
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{key}: {'.'.join(path)} does not name a setting")
        node[path[-1]] = value
    return data


def _describe_error(err: Mapping[str, Any]) -> tuple[str, str]:
    loc = [str(p) for p in err["loc"] if not str(p).startswith(("function-", "tagged-union"))]
    # pydantic puts the discriminator's chosen tag in loc (e.g. source.http.url): drop it.
    cleaned: list[str] = []
    for i, part in enumerate(loc):
        if i > 0 and loc[i - 1] == "source" and part in ("http", "file", "database"):
            continue
        cleaned.append(part)
    key = ".".join(cleaned)
    kind = err["type"]
    if not key:
        # Cross-field checks raise "key.path: message": lift the key out of the message.
        text = str(err["msg"]).removeprefix("Value error, ")
        head, sep, rest = text.partition(": ")
        if sep and re.match(r"^[\w.<>-]+$", head):
            return head, rest
        return "(top level)", text
    if kind == "extra_forbidden":
        return key, "unknown key (check its spelling against cityops.example.toml)"
    if kind == "missing":
        return key, "required but missing"
    msg = str(err["msg"])
    msg = msg.removeprefix("Value error, ")
    if kind == "union_tag_invalid":
        msg = "source.type must be one of 'http', 'file', 'database'"
    return key, msg


def _find_line(text: str, key: str) -> int | None:
    """Best effort: the line where the last part of a dotted key is set."""
    last = key.split(".")[-1]
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(rf"^\s*\"?{re.escape(last)}\"?\s*=", line) or re.search(
            rf"[\[.]{re.escape(last)}\]", line
        ):
            return number
    return None


def settings_from_dict(
    data: Mapping[str, Any], *, source: Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Validate a parsed configuration; relative paths are made relative to ``source``'s folder."""
    env = os.environ if environ is None else environ
    raw = _apply_env_overrides(_deep_copy(dict(data)), env)
    where = str(source) if source else "built-in configuration"
    text = source.read_text(encoding="utf-8") if source and source.exists() else ""
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key, what = _describe_error(err)
            line = _find_line(text, key) if text else None
            problems.append(f"{where}{':' + str(line) if line else ''}: {key}: {what}")
        first, *rest = problems
        more = f" (and {len(rest)} more: {'; '.join(rest)})" if rest else ""
        raise ConfigError(f"invalid configuration: {first}{more}") from None
    except ValueError as exc:
        raise ConfigError(f"invalid configuration: {where}: {exc}") from None
    base = source.parent if source else Path.cwd()
    return _resolve_paths(settings, base).model_copy(update={"source_path": source})


def _deep_copy(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _deep_copy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_deep_copy(v) for v in data]
    return data


def _abs(path: Path | None, base: Path) -> Path | None:
    if path is None:
        return None
    return path if path.is_absolute() else (base / path)


def _resolve_paths(settings: Settings, base: Path) -> Settings:
    city = settings.city.model_copy(
        update={
            "districts": _abs(settings.city.districts, base),
            "catalogues": [p if p.is_absolute() else base / p for p in settings.city.catalogues],
        }
    )
    storage = settings.storage.model_copy(
        update={
            "data_dir": _abs(settings.storage.data_dir, base),
            "database": _abs(settings.storage.database, base),
        }
    )
    feeds = {}
    for name, feed in settings.feeds.items():
        src = feed.source
        if isinstance(src, FileSource):
            src = src.model_copy(
                update={
                    "path": _abs(src.path, base),
                    "processed_dir": _abs(src.processed_dir, base),
                    "failed_dir": _abs(src.failed_dir, base),
                }
            )
        feeds[name] = feed.model_copy(update={"source": src})
    warnings_settings = settings.warnings.model_copy(
        update={"packs": [p if p.is_absolute() else base / p for p in settings.warnings.packs]}
    )
    map_settings = settings.map.model_copy(
        update={"layers": [ly.model_copy(update={"path": _abs(ly.path, base)}) for ly in settings.map.layers]}
    )
    return settings.model_copy(
        update={
            "city": city,
            "storage": storage,
            "feeds": feeds,
            "warnings": warnings_settings,
            "map": map_settings,
        }
    )


def load_settings(path: Path | str, *, environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate a TOML configuration file."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(
            f"configuration file {path} does not exist",
            hint="pass --config with the path of a TOML file; cityops.example.toml is an annotated start",
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return settings_from_dict(data, source=path.resolve(), environ=environ)
