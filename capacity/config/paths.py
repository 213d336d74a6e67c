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


def scenario_path(name_or_path: str) -> Path:
    """``A`` → scenarios/A.yaml (current directory, then package); a path is used as is."""
    given = Path(name_or_path)
    if given.suffix in {".yaml", ".yml"} or given.parent != Path("."):
        if not given.is_file():
            raise UsageError(f"scenario file {name_or_path} does not exist")
        return given
    for root in _search_roots():
        candidate = root / SCENARIOS_DIR / f"{name_or_path}.yaml"
        if candidate.is_file():
            return candidate
    known = sorted({p.stem for root in _search_roots() for p in (root / SCENARIOS_DIR).glob("*.yaml")})
    raise UsageError(f"unknown scenario {name_or_path!r} (known: {', '.join(known) or 'none'})")


def shipped_scenarios() -> list[str]:
    """Names of the scenarios shipped with the tool (or present in the current directory)."""
    return sorted({p.stem for root in _search_roots() for p in (root / SCENARIOS_DIR).glob("*.yaml")})
