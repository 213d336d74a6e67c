"""The import contract (pyproject.toml's import-linter contracts): rooms and layers, and which
room may import which third-party package — checked here so that the README's ``pytest -q -n auto`` enforces it, as
``lint-imports`` does in ``.ci/run``.

The contract is also tried on a broken copy of the package, to show that it bites: in a room
that exists today, and in the rooms (``studies``, ``live``) that other branches are building.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

CHECKOUT = Path(__file__).resolve().parents[1]
PACKAGE = CHECKOUT / "capacity"
PYPROJECT = tomllib.loads((CHECKOUT / "pyproject.toml").read_text(encoding="utf-8"))
CONTRACTS: list[dict[str, Any]] = PYPROJECT["tool"]["importlinter"]["contracts"]

ROOMS = {
    "api", "cli", "report", "studies", "sim", "live", "plan", "metrics", "policy", "workload", "gpu", "config",
    "errors", "units", "result",
}  # fmt: skip
"""The rooms of shared/design.md."""

THIRD_PARTY = {
    "simpy": {"sim"},
    "httpx": {"live"},
    "redis": {"live"},
    "starlette": {"live"},
    "uvicorn": {"live"},
    "dask": {"studies"},
    "yaml": {"config"},
    "pandas": {"report"},
    "matplotlib": {"report"},
    "typer": {"cli"},
    "rich": {"cli", "report"},
}
"""Each third-party package and the only rooms that may import it (shared/design.md)."""


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    """Run ``lint-imports`` on the package under ``root`` with the checkout's contracts."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())",
            "--config",
            str(CHECKOUT / "pyproject.toml"),
            "--no-cache",
            "--no-logo",
        ],
        cwd=root,  # import-linter puts the working directory first on sys.path
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_import_contract_holds() -> None:
    run = lint(CHECKOUT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def _room(expression: str) -> str:
    """``capacity.sim`` or ``*.live`` → the room's name."""
    return expression.rsplit(".", 1)[-1]


def test_the_layers_are_the_design_s() -> None:
    (layers,) = (c for c in CONTRACTS if c["type"] == "layers")
    named = [[part.strip(" ()") for part in layer.split("|")] for layer in layers["layers"]]
    assert named == [
        ["cli", "api"],
        ["report"],
        ["studies"],
        ["sim", "live", "plan"],
        ["metrics"],
        ["policy", "gpu"],
        ["workload"],
        ["config"],
        ["errors", "units", "result"],
    ]
    assert layers["exhaustive"] is True


@pytest.mark.parametrize(("package", "allowed"), sorted(THIRD_PARTY.items()))
def test_each_third_party_package_is_forbidden_in_every_other_room(package: str, allowed: set[str]) -> None:
    (rule,) = (c for c in CONTRACTS if package in c.get("forbidden_modules", []))
    assert rule["type"] == "forbidden"
    assert {_room(s) for s in rule["source_modules"]} == ROOMS - allowed


def _module_level_imports(tree: ast.Module) -> list[str]:
    """Modules imported at the top level of a module (``if TYPE_CHECKING:`` blocks excepted)."""
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.If | ast.Try) and not (
            isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        ):
            names += _module_level_imports(ast.Module(body=node.body, type_ignores=[]))
    return names


def test_pandas_and_matplotlib_are_imported_lazily() -> None:
    heavy = ("pandas", "matplotlib")
    for path in sorted(PACKAGE.rglob("*.py")):
        imported = _module_level_imports(ast.parse(path.read_text(encoding="utf-8")))
        eager = [m for m in imported if m.split(".")[0] in heavy]
        assert not eager, f"{path.relative_to(CHECKOUT)} imports {eager} at import time"
    result = ast.parse((PACKAGE / "result.py").read_text(encoding="utf-8"))
    for fn in ast.walk(result):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) and fn.name != "to_frame":
            inner = [n for n in ast.walk(fn) if isinstance(n, ast.Import | ast.ImportFrom)]
            names = [a.name for n in inner if isinstance(n, ast.Import) for a in n.names]
            names += [n.module or "" for n in inner if isinstance(n, ast.ImportFrom)]
            assert not [m for m in names if m.split(".")[0] == "pandas"], f"result.py: pandas in {fn.name}"


def _add(copy: Path, module: str, line: str) -> None:
    path = copy / "capacity" / module
    path.parent.mkdir(parents=True, exist_ok=True)
    if not (path.parent / "__init__.py").exists():
        (path.parent / "__init__.py").write_text('"""A room under construction."""\n', encoding="utf-8")
    text = path.read_text(encoding="utf-8") if path.exists() else '"""A module."""\n'
    path.write_text(text + line + "\n", encoding="utf-8")


def test_the_contract_catches_violations_in_present_and_future_rooms(tmp_path: Path) -> None:
    shutil.copytree(PACKAGE, tmp_path / "capacity", ignore=shutil.ignore_patterns("__pycache__"))
    _add(tmp_path, "policy/cache.py", "import capacity.sim.model  # policy reaches up into its driver")
    _add(tmp_path, "plan/erlang.py", "import capacity.sim.model  # beside it on one layer")
    _add(tmp_path, "config/base.py", "import simpy  # a room's package elsewhere")
    _add(tmp_path, "live/driver.py", "import capacity.report.markdown  # a future room reaching up")
    _add(tmp_path, "studies/sweep.py", "import yaml  # a future room using config's package")
    _add(tmp_path, "report/pages.py", "import capacity.live.driver  # report running a driver")
    run = lint(tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    out = run.stdout
    for broken in (
        "capacity.policy.cache -> capacity.sim.model",
        "capacity.plan.erlang -> capacity.sim.model",
        "capacity.config.base -> simpy",
        "capacity.live.driver -> capacity.report.markdown",
        "capacity.studies.sweep -> yaml",
        "capacity.report.pages -> capacity.live.driver",
    ):
        assert broken in out, f"{broken} not reported:\n{out}"
    broken_rules = {line.split(" BROKEN")[0] for line in out.splitlines() if " BROKEN" in line}
    names = {c["id"]: c["name"] for c in CONTRACTS}
    assert broken_rules == {
        names[i] for i in ("layers", "report-runs-nothing", "simpy-in-sim", "yaml-in-config", "no-circles")
    }
