"""The compiled engine (mypyc, hatch_build.py) gives the pure-Python engine's numbers, bit for
bit, and an edited source is never shadowed by a stale extension (capacity/_engine.py)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

from capacity import ENGINE
from capacity._engine import PURE_ENV, choose
from capacity.config import default_providers_path, load_configuration, scenario_path
from capacity.sim.model import simulate

RUNS = [  # (scenario, days, first interviews): the quota queue, a paid API, GPU servers, router replicas
    ("A", 1, 400),
    ("B-paid", 1, 300),
    ("A-gpu", 1, 300),
    ("A-replicas", 1, 300),
    ("A-levers", 1, 300),
]

_RUN = """
import json, sys
from capacity import ENGINE
from capacity.config import default_providers_path, load_configuration, scenario_path
from capacity.sim.model import simulate
out = {"compiled": ENGINE.compiled, "results": {}}
for name, days, n in json.loads(sys.argv[1]):
    config = load_configuration(scenario_path(name), default_providers_path())
    result = simulate(config, days=days, max_interviews=n).model_dump(mode="json")
    result.pop("wall_time_s")
    out["results"][name] = json.dumps(result, sort_keys=True)
print(json.dumps(out))
"""


def _pure_results() -> dict[str, object]:
    env = {**os.environ, PURE_ENV: "1"}
    done = subprocess.run(
        [sys.executable, "-c", _RUN, json.dumps(RUNS)], capture_output=True, text=True, env=env, check=True
    )
    out = json.loads(done.stdout)
    assert out["compiled"] is False
    return dict(out["results"])


@pytest.mark.slow
def test_the_compiled_engine_gives_the_pure_python_numbers() -> None:
    if not ENGINE.compiled:
        if os.environ.get("CI") and not os.environ.get(PURE_ENV):  # .ci/run installs a C compiler
            pytest.fail(f"CI must test the compiled engine: {ENGINE.describe()}")
        pytest.skip(ENGINE.describe())
    pure = _pure_results()
    for name, days, n in RUNS:
        config = load_configuration(scenario_path(name), default_providers_path())
        compiled = simulate(config, days=days, max_interviews=n).model_dump(mode="json")
        compiled.pop("wall_time_s")
        assert compiled["interviews"]["requested"] > 0
        # as text: 1 == 1.0 in Python, but a number that changed type would print differently
        assert json.dumps(compiled, sort_keys=True) == pure[name], name


def _package(tmp_path: Path, source: str = "X = 1\n") -> tuple[Path, Path]:
    """A package with one 'compiled' module: its source, a stand-in extension and a manifest."""
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    module = package / "sub" / "hot.py"
    module.write_text(source)
    suffix = EXTENSION_SUFFIXES[0]
    (package / "sub" / f"hot{suffix}").write_bytes(b"")
    manifest = {
        "python": sys.implementation.cache_tag,
        "extension_suffix": suffix,
        "modules": {"pkg.sub.hot": {"source": "pkg/sub/hot.py", "sha256": hashlib.sha256(b"X = 1\n").hexdigest()}},
    }
    (package / "_compiled.json").write_text(json.dumps(manifest))
    return package, module


def test_a_build_whose_sources_match_runs_compiled(tmp_path: Path) -> None:
    package, _ = _package(tmp_path)
    engine, sources = choose(package, pure=False)
    assert engine.compiled
    assert sources == {}
    assert engine.describe() == "engine: compiled (mypyc): 1 modules of the hot path"


def test_an_edited_source_is_imported_from_source_not_its_stale_extension(tmp_path: Path) -> None:
    package, module = _package(tmp_path, source="X = 2\n")
    engine, sources = choose(package, pure=False)
    assert not engine.compiled
    assert engine.why.startswith("pkg/sub/hot.py changed since it was compiled; reinstall")
    assert sources == {"pkg.sub.hot": module}


def test_a_missing_extension_or_the_environment_variable_means_pure_python(tmp_path: Path) -> None:
    package, module = _package(tmp_path)
    engine, sources = choose(package, pure=True)
    assert (engine.compiled, engine.why, sources) == (False, f"{PURE_ENV} is set", {"pkg.sub.hot": module})
    module.with_name(f"hot{EXTENSION_SUFFIXES[0]}").unlink()
    engine, sources = choose(package, pure=False)
    assert not engine.compiled
    assert engine.why.startswith("pkg/sub/hot.py has no compiled extension")


def test_an_install_that_compiled_nothing_says_why(tmp_path: Path) -> None:
    engine, sources = choose(tmp_path, pure=False)
    assert (engine.compiled, sources) == (False, {})
    assert engine.why.startswith("not compiled: installed without the build hook")
    why = "mypyc failed at install (capacity/x.py:1: error: something)"
    (tmp_path / "_compiled.json").write_text(json.dumps({"modules": {}, "not_compiled": why}))
    engine, sources = choose(tmp_path, pure=False)
    assert (engine.compiled, engine.why, sources) == (False, f"not compiled: {why}", {})
    (tmp_path / "_compiled.json").write_text("{not json")
    engine, sources = choose(tmp_path, pure=False)
    assert (engine.compiled, sources) == (False, {})
    assert "unreadable" in engine.why


def test_the_finder_imports_the_source(tmp_path: Path) -> None:
    from capacity._engine import _SourcesFirst

    _, module = _package(tmp_path, source="X = 2\n")
    spec = _SourcesFirst({"pkg.sub.hot": module}).find_spec("pkg.sub.hot", None)
    assert spec is not None and spec.origin == str(module)
    assert _SourcesFirst({"pkg.sub.hot": module}).find_spec("pkg.other", None) is None
