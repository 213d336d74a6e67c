"""Configuration: pydantic models of providers.yaml and scenarios/*.yaml, the GPU catalogue,
and their loading (pure: files in, frozen models out, every mistake located by file and line)."""

from capacity.config.gpus import GpuCatalog, GpuPool, load_catalog
from capacity.config.loader import Configuration, load_configuration, load_providers
from capacity.config.paths import default_providers_path, scenario_path, shipped_scenarios
from capacity.config.providers import Limits, ModelSpec, Provider, ProvidersFile, StatedLimit
from capacity.config.scenario import Scenario

__all__ = [
    "Configuration",
    "GpuCatalog",
    "GpuPool",
    "Limits",
    "ModelSpec",
    "Provider",
    "ProvidersFile",
    "Scenario",
    "StatedLimit",
    "default_providers_path",
    "load_catalog",
    "load_configuration",
    "load_providers",
    "scenario_path",
    "shipped_scenarios",
]
