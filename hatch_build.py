"""Build hook: compile the simulator's hot path with mypyc, where a C compiler allows.

The modules named by ``compile`` in ``[tool.hatch.build.targets.wheel.hooks.custom]`` of
pyproject.toml (the policy core, the metrics recorder, the SimPy driver, the random streams)
are strictly typed Python; mypyc turns each into a C extension that runs the same code about
twice as fast. The pure-Python source stays beside it and gives the same numbers, bit for bit
(tests/sim/test_compiled_engine.py); ``capacity/_engine.py`` chooses between them at import.

* ``pip install -e .`` (editable): the extensions are written next to their sources, with
  ``capacity/_compiled.json``, the manifest of the sources they were compiled from; an edited
  source makes its build stale, and ``capacity`` then runs the pure-Python engine (a warning
  on a terminal, ``capacity --version`` says so) until the next install recompiles.
* ``pip install .`` / ``python -m build``: the extensions and the manifest go into a wheel
  tagged for this interpreter and platform.
* No C compiler, mypyc failing, or ``CAPACITY_PURE_PYTHON=1`` in the environment: a warning,
  and the install is pure Python: nothing else changes.

Not part of the package (it runs inside the isolated build environment: hatchling, mypy,
setuptools).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

GROUP = "capacity_core"
"""mypyc's group name: the compiled modules share one library, ``capacity_core__mypyc*.so``."""

MANIFEST = "capacity/_compiled.json"

SETUP = """\
import sys
from setuptools import setup
from mypyc.build import mypycify

files, options = sys.argv[1].split(";"), sys.argv[2].split(";")
sys.argv[1:3] = []
setup(name="capacity-core", ext_modules=mypycify(options + files, group_name={group!r}, opt_level="3"))
"""

MYPY_OPTIONS = [
    # the build environment has mypy and numpy, not the package's other dependencies: their
    # types are Any here (the code is checked strictly by `mypy` in CI, against the real ones)
    "--ignore-missing-imports",
    "--follow-imports=silent",
    "--python-version=3.11",
]


def _extension_suffix() -> str:
    return str(sysconfig.get_config_var("EXT_SUFFIX") or EXTENSION_SUFFIXES[0])


def _missing_toolchain() -> str | None:
    """What compiling needs and this machine lacks: a C compiler or Python's headers (``None``: nothing)."""
    cc = (os.environ.get("CC") or str(sysconfig.get_config_var("CC") or "cc")).split()
    if not cc or shutil.which(cc[0]) is None:
        return "no C compiler"
    if not (Path(sysconfig.get_paths()["include"]) / "Python.h").exists():
        return "no Python headers (Python.h; Debian: python3-dev)"
    return None


class CustomBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Compile ``compile``'s modules with mypyc into the wheel (or, editable, beside their sources)."""

    PLUGIN_NAME = "custom"

    def _sources(self) -> list[Path]:
        root = Path(self.root)
        files: list[Path] = []
        for entry in self.config.get("compile", []):
            path = root / entry
            files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
        return files

    def _artefacts(self) -> list[Path]:
        """Everything an earlier compile left in the source tree."""
        root, suffix = Path(self.root), _extension_suffix()
        found = [root / MANIFEST, *root.glob(f"{GROUP}__mypyc*")]
        found += [p.with_name(p.stem + suffix) for p in self._sources()]
        return [p for p in found if p.exists()]

    def clean(self, versions: list[str]) -> None:
        for path in self._artefacts():
            path.unlink()

    def _not_compiled(self, version: str, build_data: dict[str, Any], why: str) -> None:
        """Install pure Python, saying why in the manifest (``capacity --version`` reads it)."""
        self.app.display_warning(f"capacity: {why}: pure-Python install (the same numbers, slower)")
        manifest = Path(self.root) / MANIFEST
        manifest.write_text(json.dumps({"modules": {}, "not_compiled": why}, indent=1) + "\n")
        if version != "editable":
            build_data["force_include"][str(manifest)] = MANIFEST

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        self.clean([version])  # a failed compile must not leave an older one in force
        if os.environ.get("CAPACITY_PURE_PYTHON"):
            self._not_compiled(version, build_data, "CAPACITY_PURE_PYTHON was set at install")
            return
        missing = _missing_toolchain()
        if missing is not None:
            self._not_compiled(version, build_data, f"{missing} at install; install it and reinstall to compile")
            return
        root = Path(self.root)
        sources = self._sources()
        self.app.display_info(f"capacity: compiling {len(sources)} modules with mypyc (a minute or two)…")
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            (work / "setup.py").write_text(SETUP.format(group=GROUP))
            lib = work / "lib"
            done = subprocess.run(
                [
                    sys.executable,
                    "setup.py",
                    ";".join(str(p) for p in sources),
                    ";".join(MYPY_OPTIONS),
                    "build_ext",
                    "--build-lib",
                    str(lib),
                    "--build-temp",
                    str(work / "tmp"),
                ],
                cwd=work,  # not the project: setuptools would read (and reject) its pyproject.toml
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                lines = (done.stdout + done.stderr).strip().splitlines()
                self.app.display_info("capacity: mypyc's last lines:\n" + "\n".join(lines[-15:]))
                first = next((line for line in lines if ": error:" in line), lines[-1] if lines else "")
                self._not_compiled(version, build_data, f"mypyc failed at install ({first.strip()[:200]})")
                return
            built = sorted(p for p in lib.rglob("*") if p.is_file())
            for path in built:
                target = root / path.relative_to(lib)
                shutil.copy2(path, target)
        manifest = {
            "python": sys.implementation.cache_tag,
            "extension_suffix": _extension_suffix(),
            "modules": {
                ".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__"): {
                    "source": p.relative_to(root).as_posix(),
                    "sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
                }
                for p in sources
            },
        }
        (root / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
        self.app.display_info(f"capacity: compiled {len(sources)} modules")
        if version == "editable":
            return  # the project root is on sys.path: the extensions are found beside their sources
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        for path in [root / MANIFEST, *(root / p.relative_to(lib) for p in built)]:
            build_data["force_include"][str(path)] = path.relative_to(root).as_posix()
