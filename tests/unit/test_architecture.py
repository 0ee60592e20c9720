"""The layers of pyproject.toml's import-linter contracts hold, and every module sits in a layer."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["importlinter"]


def test_import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    ids = {c["id"] for c in CONFIG["contracts"]}
    assert {"layers", "pure", "acyclic"} <= ids
    assert result.stdout.count(" KEPT") == len(CONFIG["contracts"]), result.stdout


def _layer_modules() -> set[str]:
    (layers,) = [c for c in CONFIG["contracts"] if c["type"] == "layers"]
    names: set[str] = set()
    for layer in layers["layers"]:
        names |= {part.strip() for part in layer.replace(":", "|").split("|")}
    return names


def test_every_module_of_the_cityops_package_is_in_a_layer() -> None:
    """cityops/ holds the base and the process roles: a new module there must be given its layer."""
    named = _layer_modules()
    for path in sorted((ROOT / "cityops").iterdir()):
        if path.name.startswith("_") and path.name != "__main__.py":
            continue
        if path.suffix == ".py" or (path / "__init__.py").is_file():
            module = f"cityops.{path.stem}"
            assert module in named, f"{module} is in no layer of [tool.importlinter] in pyproject.toml"


def test_every_top_level_package_is_in_a_layer() -> None:
    named = _layer_modules()
    for package in CONFIG["root_packages"]:
        if package == "cityops":
            continue
        assert package in named, f"{package} is in no layer"
