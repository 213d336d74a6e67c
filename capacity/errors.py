"""The exception tree of ``capacity``.

::

    CapacityError                 base of everything this package raises on purpose
    ├── UserError                 the user's mistake: exit status 2, one clear line each
    │   ├── ConfigError           a providers/scenario file is wrong (file, line, field, what)
    │   └── UsageError            a command-line value is wrong (unknown scenario, bad --set)
    └── ModelError                the model itself cannot answer (a bug or an impossible state)

A :class:`UserError` never shows a traceback: the CLI prints each of its ``lines`` and exits
with status 2. Anything else is a bug and is allowed to surface.
"""

from __future__ import annotations

from dataclasses import dataclass


class CapacityError(Exception):
    """Base of every exception ``capacity`` raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file: where it is and what is wrong."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


class UserError(CapacityError):
    """A mistake in what the user gave us; reported as one line per problem, exit 2."""

    @property
    def lines(self) -> list[str]:
        """The lines to print, one per problem."""
        return [str(self)]


class ConfigError(UserError):
    """One or more problems in a YAML file, each with its file, line and field path."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))

    @property
    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


class UsageError(UserError):
    """A wrong command-line value: an unknown scenario, a malformed ``--set``, …"""


class ModelError(CapacityError):
    """The model reached a state it cannot answer from; a bug, not a user mistake."""
