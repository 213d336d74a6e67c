"""Every Sphinx-style reference in the package's docstrings (``:mod:``, ``:func:``, ``:class:``,
``:meth:``, ``:data:``, ``:attr:``, ``:exc:`` to ``capacity.…``) names something that exists:
a docstring that points a reader at a module or function gone or renamed is a wrong map."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import capacity

PACKAGE = Path(capacity.__file__).parent
REFERENCE = re.compile(r":(?:mod|func|class|meth|data|attr|exc):`~?(capacity(?:\.\w+)+)`")


def _resolves(dotted: str) -> bool:
    """Import the longest module prefix of ``dotted``, then walk the rest as attributes (a dataclass
    or pydantic field counts, as its annotation)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            fields = [getattr(c, "__annotations__", {}) for c in getattr(obj, "__mro__", ())]
            if not hasattr(obj, name) and not any(name in f for f in fields):
                return False
            obj = getattr(obj, name, None)
        return True
    return False


def test_docstring_references_name_what_exists() -> None:
    found = {
        (str(path.relative_to(PACKAGE.parent)), ref)
        for path in PACKAGE.rglob("*.py")
        for ref in REFERENCE.findall(path.read_text(encoding="utf-8"))
    }
    assert len(found) > 50  # the package cross-references itself widely
    assert ("capacity/sim/__init__.py", "capacity.sim.model.simulate") in found
    assert [f"{path}: {ref}" for path, ref in sorted(found) if not _resolves(ref)] == []


def test_the_check_finds_a_missing_module_and_a_missing_name() -> None:
    assert _resolves("capacity.policy.pipeline.TurnPipeline.session")
    assert not _resolves("capacity.sim.engine")  # the module the sim docstring once named
    assert not _resolves("capacity.plan.result.Workload.input_tokens_per_interview")
