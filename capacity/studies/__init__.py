"""Experiments made of runs (see docs/architecture.md)."""

__all__: list[str] = ["validate"]
