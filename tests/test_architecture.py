"""The house keeps its shape: one package per stage, layers checked by import-linter,
imports through each package's public API, and docs/ARCHITECTURE.md's table true to the
tree (docs/ARCHITECTURE.md, issue 26)."""

from __future__ import annotations

import ast
import importlib
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# a module other packages may import directly although its package's API does not list
# it: run.demo imports the farm, and only the CLI's demo command should load it
DIRECT_IMPORTS_ALLOWED = {"monitor.run.demo"}


def _layers() -> list[list[str]]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    contract = next(c for c in config["contracts"] if c["type"] == "layers")
    return [[name.strip() for name in layer.split("|")] for layer in contract["layers"]]


def _packages() -> list[str]:
    """Every package of monitor/ (and crawler), as dotted names."""
    found = ["crawler"]
    for path in sorted((REPO / "monitor").iterdir()):
        if (path / "__init__.py").exists():
            found.append(f"monitor.{path.name}")
    return found


def _short(name: str) -> str:
    return name.removeprefix("monitor.")


def _module_files() -> list[Path]:
    return sorted(p for root in ("monitor", "crawler") for p in (REPO / root).rglob("*.py")
                  if "datasette" not in p.parts or p.parent.name == "plugins")


def _package_of(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return "crawler" if parts[0] == "crawler" else ".".join(parts[:2])


def test_monitor_holds_only_packages() -> None:
    top = {p.name for p in (REPO / "monitor").iterdir() if p.name != "__pycache__"}
    loose = {name for name in top if not (REPO / "monitor" / name / "__init__.py").exists()}
    assert loose <= {"__init__.py", "__main__.py"}, sorted(loose)


def test_every_package_is_a_layer() -> None:
    named = {name for layer in _layers() for name in layer}
    assert named == set(_packages()), (named ^ set(_packages()))


def test_every_package_says_what_it_does_and_exports_an_api() -> None:
    for name in _packages():
        module = importlib.import_module(name)
        assert module.__doc__ and len(module.__doc__.split()) >= 8, name
        if name == "crawler":  # Scrapy loads its parts by dotted path
            continue
        assert module.__all__, name
        for export in module.__all__:
            assert hasattr(module, export), f"{name}.__all__ names {export!r}, not defined"


def _cross_package_imports() -> list[tuple[str, int, str, list[str]]]:
    """(file, line, imported module, names) for every import of another monitor package."""
    found = []
    for path in _module_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                target, names = node.module, [a.name for a in node.names]
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    found.append((str(path), node.lineno, alias.name, []))
                continue
            else:
                continue
            found.append((str(path), node.lineno, target, names))
    return [(f, line, target, names) for f, line, target, names in found
            if target.startswith("monitor.")
            and ".".join(target.split(".")[:2]) != _package_of(Path(f))]


def test_packages_import_each_other_through_their_public_api() -> None:
    """`from monitor.store import Store` or a module the package's API lists
    (`from monitor.sources import health`), never a module it keeps to itself."""
    wrong = []
    for where, line, target, names in _cross_package_imports():
        parts = target.split(".")
        package = importlib.import_module(".".join(parts[:2]))
        if target in DIRECT_IMPORTS_ALLOWED:
            continue
        if len(parts) == 2:
            missing = [n for n in names if n not in package.__all__]
            if missing:
                wrong.append(f"{where}:{line}: {target} does not export {missing}")
        elif parts[2] not in getattr(package, "__all__", ()):
            wrong.append(f"{where}:{line}: {target} is not in {'.'.join(parts[:2])}.__all__")
    assert not wrong, "\n".join(wrong)


def _table() -> dict[str, dict[str, str]]:
    text = (REPO / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = dict(zip(("job", "modules", "api", "imports"),
                                                 cells[1:], strict=True))
    return rows


def test_architecture_table_matches_the_tree() -> None:
    table = _table()
    assert set(table) == {_short(p) for p in _packages()}
    layers = _layers()
    for name in _packages():
        row = table[_short(name)]
        path = REPO / name.replace(".", "/")
        modules = {p.stem for p in path.glob("*.py") if p.stem not in ("__init__", "__main__")}
        modules |= {d.name for d in path.iterdir() if (d / "__init__.py").exists()}
        listed = {m for m in re.findall(r"`([^`/]+)`", row["modules"])}
        assert listed == modules, (name, listed ^ modules)
        if name != "crawler":
            api = set(re.findall(r"`([^`]+)`", row["api"]))
            assert api == set(importlib.import_module(name).__all__), (name, api)
        level = next(i for i, layer in enumerate(layers) if name in layer)
        below = {_short(p) for layer in layers[level + 1:] for p in layer}
        may = {re.sub(r"\s*\(.*\)", "", m).strip() for m in row["imports"].split(",")}
        may -= {"(nothing)", ""}
        if name not in ("monitor.cli", "monitor.run"):
            below.discard("farm")  # the forbidden contract: only the CLI and run.demo
        assert may == below, (name, may ^ below)


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "lint-imports"), "--no-cache"], cwd=root,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(not (BIN / "lint-imports").exists(), reason="import-linter not installed")
def test_contracts_hold_and_an_upward_import_breaks_them(tmp_path: Path) -> None:
    done = _lint_imports(REPO)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "0 broken" in done.stdout
    # the same tree with one import against the layers: the store reaching up to alerts
    for part in ("monitor", "crawler"):
        shutil.copytree(REPO / part, tmp_path / part,
                        ignore=shutil.ignore_patterns("__pycache__", "content", "datasette"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    labels = tmp_path / "monitor" / "store" / "labels.py"
    labels.write_text(labels.read_text() + "\nfrom monitor.alerts import AlertConfig  # noqa\n")
    done = _lint_imports(tmp_path)
    assert done.returncode == 1, done.stdout[-3000:]
    assert "monitor.store is not allowed to import monitor.alerts" in done.stdout
    assert "monitor.store.labels -> monitor.alerts" in done.stdout


@pytest.mark.skipif(not (BIN / "deptry").exists(), reason="deptry not installed")
def test_dependencies_are_declared_and_used() -> None:
    done = subprocess.run([str(BIN / "deptry"), "."], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
