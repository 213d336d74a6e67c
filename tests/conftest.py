"""Shared fixtures: the shipped configuration, and copies of it to break on purpose."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis.database import DirectoryBasedExampleDatabase

from capacity.config import Configuration, default_providers_path, load_configuration, scenario_path

# The CLI sizes its tables from COLUMNS when set, else 160 columns when piped (capacity.cli.common,
# read at import). The tests expect the piped default; pytest-xdist's workers inherit COLUMNS=80,
# so it is dropped here, before capacity.cli is imported (tests that want a width pass their own).
os.environ.pop("COLUMNS", None)

CHECKOUT = Path(__file__).resolve().parents[1]
SHIPPED_PROVIDERS = CHECKOUT / "providers.yaml"
SHIPPED_SCENARIOS = CHECKOUT / "scenarios"

# Hypothesis outside CI (under CI=true its own "ci" profile already runs without a database and
# without deadlines): no per-example deadline, which on a shared or parallel machine is a timed
# assertion; and, under pytest-xdist (`pytest -n auto`), an example database for each worker
# (.hypothesis/examples-gw0, ...), so workers never write one folder at once.
if settings.get_current_profile_name() == "default":
    _WORKER = os.environ.get("PYTEST_XDIST_WORKER")
    if _WORKER:
        _DATABASE = DirectoryBasedExampleDatabase(CHECKOUT / ".hypothesis" / f"examples-{_WORKER}")
        settings.register_profile("capacity", deadline=None, database=_DATABASE)
    else:
        settings.register_profile("capacity", deadline=None)
    settings.load_profile("capacity")


ROUTER_MODULES = frozenset({
    "tests/cli/test_live_cli.py",
    "tests/live/test_crash_resume.py",
    "tests/live/test_fleet.py",
    "tests/live/test_fleet_recovery.py",
    "tests/live/test_redis_ledger_concurrency.py",
    "tests/live/test_serve_two_instances.py",
    "tests/live/test_shared_routers.py",
})  # fmt: skip
"""Modules whose tests run several routers (processes or instances) against one compressed clock,
with margins of a fraction of a wall second: run one at a time, never two side by side."""


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under ``pytest -n``: a test module runs whole on one worker (its shared fixtures — a simulated
    run, a Redis client, an event loop — are built once), and the :data:`ROUTER_MODULES` share one
    worker, one after another. (xdist's own ``--dist loadgroup`` does not group under pytest 9.)"""
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return "routers" if module in ROUTER_MODULES else module

    return ModuleScheduling(config, log)


def readme_scenario() -> str:
    """The YAML example of the README's "Your own scenario" section."""
    text = (CHECKOUT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Your own scenario") :]
    match = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


def load_shipped(name: str, overrides: tuple[str, ...] = ()) -> Configuration:
    """A shipped scenario with the shipped providers, ``--set`` overrides applied."""
    return load_configuration(scenario_path(name), default_providers_path(), list(overrides))


@pytest.fixture(scope="session")
def load_scenario() -> Callable[..., Configuration]:
    """``load_scenario(name, *overrides)``: a shipped scenario, ``--set`` overrides applied."""
    return lambda name, *overrides: load_shipped(name, tuple(overrides))


@pytest.fixture(scope="session")
def config_a() -> Configuration:
    """Scenario A (50,000 interviews over 30 days) on the 2025 providers."""
    return load_shipped("A")


@pytest.fixture(scope="session")
def config_b() -> Configuration:
    """Scenario B (50,000 interviews every day)."""
    return load_shipped("B")


@pytest.fixture(scope="session")
def config_seed() -> Configuration:
    """The seed document's claims on scenario A's demand."""
    return load_shipped("seed-claims")


@pytest.fixture
def config_copy(tmp_path: Path) -> Callable[[dict[str, tuple[str, str]]], Path]:
    """Copy providers.yaml and scenarios/ into a temporary folder, editing files on the way.

    Call it with ``{relative path: (old text, new text)}``; each old text must occur exactly
    once. Returns the folder (``providers.yaml`` and ``scenarios/*.yaml`` inside).
    """

    def make(edits: dict[str, tuple[str, str]]) -> Path:
        shutil.copy(SHIPPED_PROVIDERS, tmp_path / "providers.yaml")
        shutil.copytree(SHIPPED_SCENARIOS, tmp_path / "scenarios", dirs_exist_ok=True)
        for rel, (old, new) in edits.items():
            path = tmp_path / rel
            text = path.read_text(encoding="utf-8") if path.exists() else ""
            if old:
                assert text.count(old) == 1, f"{old!r} must occur once in {rel}"
                text = text.replace(old, new)
            else:
                text = new
            path.write_text(text, encoding="utf-8")
        return tmp_path

    return make


@pytest.fixture
def line_of() -> Callable[[Path, str], int]:
    """``line_of(path, text)``: the 1-based line of the first occurrence of ``text`` in ``path``."""

    def find(path: Path, text: str) -> int:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if text in line:
                return number
        raise AssertionError(f"{text!r} not in {path}")

    return find
