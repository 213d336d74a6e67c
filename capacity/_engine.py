"""Which engine runs: the simulator's hot path compiled by mypyc, or its pure-Python source.

An install with a C compiler compiles the modules listed in pyproject.toml (the policy core,
the metrics recorder, the simulator's clock and driver, the GPU server models, the random streams) into C
extensions beside their sources, and writes ``capacity/_compiled.json``: each compiled module
with the SHA-256 of the source it was compiled from (``hatch_build.py``), or, where it compiled
nothing, why. Both engines run the same code and give the same numbers, bit for bit; the
compiled one five to seven times as fast (CPU time on A's first three days, bench/sim_bench.py).

Python imports an extension before a source of the same name, so an edited source would
silently not take effect. This module, imported by ``capacity/__init__.py`` before anything
else of the package, prevents that: when a compiled module's source no longer matches the
manifest (or an extension is missing, or ``CAPACITY_PURE_PYTHON`` is set), it puts a finder
first on ``sys.meta_path`` that imports *every* compiled module from its source — all or
none, as the compiled modules call each other directly. ``capacity --version`` says which
engine runs, and why.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

__all__ = ["ENGINE", "Engine", "choose"]

PACKAGE_DIR = Path(__file__).resolve().parent
MANIFEST = PACKAGE_DIR / "_compiled.json"
PURE_ENV = "CAPACITY_PURE_PYTHON"


@dataclass(frozen=True)
class Engine:
    """The engine in force: ``compiled`` (mypyc extensions) or not, and ``why`` in words."""

    compiled: bool
    why: str

    def describe(self) -> str:
        """One line for ``capacity --version``."""
        kind = "compiled (mypyc)" if self.compiled else "pure Python"
        return f"engine: {kind}: {self.why}"


class _SourcesFirst(importlib.abc.MetaPathFinder):
    """Import the named modules from their ``.py`` sources, not their compiled extensions."""

    def __init__(self, sources: dict[str, Path]) -> None:
        self.sources = sources

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        source = self.sources.get(fullname)
        if source is None:
            return None
        locations = [str(source.parent)] if source.name == "__init__.py" else None
        return importlib.util.spec_from_file_location(fullname, source, submodule_search_locations=locations)


def _stale(package_dir: Path, modules: dict[str, dict[str, str]], suffix: str) -> str | None:
    """Why the compiled modules cannot be used (``None``: they can)."""
    for info in modules.values():
        source = package_dir.parent / info["source"]
        if not source.with_name(source.stem + suffix).exists():
            return f"{info['source']} has no compiled extension"
        if hashlib.sha256(source.read_bytes()).hexdigest() != info["sha256"]:
            return f"{info['source']} changed since it was compiled"
    return None


def choose(package_dir: Path, pure: bool) -> tuple[Engine, dict[str, Path]]:
    """The engine for the package at ``package_dir`` (``pure``: ``CAPACITY_PURE_PYTHON`` is
    set), and the modules to import from source instead of their extensions (module name →
    source path; empty when the compiled engine runs or nothing was compiled)."""
    manifest_path = package_dir / MANIFEST.name
    if not manifest_path.exists():
        return Engine(False, "not compiled: installed without the build hook (pip install -v -e . says why)"), {}
    try:
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("not_compiled"):  # the install compiled nothing, and said why
            return Engine(False, f"not compiled: {manifest['not_compiled']}"), {}
        modules: dict[str, dict[str, str]] = manifest["modules"]
        suffix = str(manifest["extension_suffix"])
        sources = {name: package_dir.parent / m["source"] for name, m in modules.items()}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return Engine(False, f"{manifest_path.name} is unreadable ({exc})"), {}
    if suffix not in importlib.machinery.EXTENSION_SUFFIXES:
        return Engine(False, f"compiled for another interpreter ({manifest.get('python')})"), {}
    if pure:
        return Engine(False, f"{PURE_ENV} is set"), sources
    why = _stale(package_dir, modules, suffix)
    if why is None:
        return Engine(True, f"{len(modules)} modules of the hot path"), {}
    return Engine(False, f"{why}; reinstall (pip install -e .) to compile it again"), sources


def _select() -> Engine:
    engine, sources = choose(PACKAGE_DIR, bool(os.environ.get(PURE_ENV)))
    if sources:
        sys.meta_path.insert(0, _SourcesFirst(sources))
    if sources and not os.environ.get(PURE_ENV) and sys.stderr is not None and sys.stderr.isatty():
        print(f"capacity: {engine.why}; running the pure-Python engine (same numbers, slower)", file=sys.stderr)
    return engine


ENGINE = _select()
"""The engine this process runs (chosen once, at the package's import)."""
