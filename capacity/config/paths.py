"""Finding the shipped files: ``--scenario A`` and the default providers.yaml.

Looked up in the current directory first, then in the copies installed with the package
(``capacity/_data``, read with importlib.resources), then in the source checkout the package
was imported from, so the tool behaves the same from a checkout, from any directory after
``pip install``, and from a wheel.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from capacity.errors import UsageError

PROVIDERS_FILE = "providers.yaml"
BASELINE_FILE = "baseline.json"
"""The regression baseline of ``capacity check``: reports/baseline.json in a checkout, and
``capacity/_data/baseline.json`` in an installed package."""
SCENARIOS_DIR = "scenarios"


def _search_roots() -> list[Path]:
    roots = [Path.cwd()]
    try:
        data = resources.files("capacity") / "_data"
        if data.is_dir():
            roots.append(Path(str(data)))
    except (ModuleNotFoundError, FileNotFoundError):  # pragma: no cover - package always importable
        pass
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / PROVIDERS_FILE).is_file():
        roots.append(checkout)
    return roots


def default_providers_path() -> Path:
    """The providers.yaml to use when ``--providers`` is not given."""
    for root in _search_roots():
        if (root / PROVIDERS_FILE).is_file():
            return root / PROVIDERS_FILE
    raise UsageError(f"no {PROVIDERS_FILE} found in the current directory or the installed package")


def _shipped_roots() -> list[Path]:
    """The roots of the copies installed with the package (not the current directory)."""
    return _search_roots()[1:]


def suggest(name: str, known: list[str]) -> str:
    """`` (did you mean 'A'?)`` for a name close to a known one (case aside), else ``''``."""
    import difflib

    by_lower = {k.lower(): k for k in known}
    if name.lower() in by_lower:
        return f" (did you mean {by_lower[name.lower()]!r}?)"
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return f" (did you mean {by_lower[close[0]]!r}?)" if close else ""


def scenario_path(name_or_path: str) -> Path:
    """``A`` → scenarios/A.yaml (current directory, then package); a path is used as is.

    ``A.yaml`` that is not a file in the current directory is taken as the name ``A`` (so
    ``-s A.yaml`` works from the repository root). An unknown name raises UsageError listing
    the known ones, with the closest (``a`` → ``A``) suggested.
    """
    given = Path(name_or_path)
    as_file = given.suffix in {".yaml", ".yml"} or given.parent != Path(".")
    if as_file:
        if given.is_file():
            return given
        if given.parent != Path("."):
            raise UsageError(f"scenario file {name_or_path} does not exist")
        name_or_path = given.stem
    for root in _search_roots():
        candidate = root / SCENARIOS_DIR / f"{name_or_path}.yaml"
        if candidate.is_file():
            return candidate
    known = shipped_scenarios()
    head = f"no file {given} here, and no shipped scenario {name_or_path!r}" if as_file else (
        f"unknown scenario {name_or_path!r}"
    )
    raise UsageError(f"{head}{suggest(name_or_path, known)} (known: {', '.join(known) or 'none'})")


def shipped_scenario_path(name: str) -> Path | None:
    """The scenario ``name`` installed with the package (or in the checkout it runs from), if any."""
    for root in _shipped_roots():
        candidate = root / SCENARIOS_DIR / f"{name}.yaml"
        if candidate.is_file():
            return candidate
    return None


def default_baseline_path() -> Path:
    """The baseline ``capacity check`` compares with when ``--baseline`` is not given:
    ./reports/baseline.json, else the one installed with the package (or in its checkout)."""
    local = Path.cwd() / "reports" / BASELINE_FILE
    if local.is_file():
        return local
    for root in _shipped_roots():
        for candidate in (root / BASELINE_FILE, root / "reports" / BASELINE_FILE):
            if candidate.is_file():
                return candidate
    return Path("reports") / BASELINE_FILE


def shipped_scenarios() -> list[str]:
    """Names of the scenarios shipped with the tool (or present in the current directory)."""
    return sorted({p.stem for root in _search_roots() for p in (root / SCENARIOS_DIR).glob("*.yaml")})
