"""Configuration: pydantic models of providers.yaml and scenarios/*.yaml, and their loading."""

from capacity.config.loader import Configuration, load_configuration, load_providers
from capacity.config.paths import default_providers_path, scenario_path, shipped_scenarios
from capacity.config.providers import ModelSpec, Provider, ProvidersFile
from capacity.config.scenario import Scenario

__all__ = [
    "Configuration",
    "ModelSpec",
    "Provider",
    "ProvidersFile",
    "Scenario",
    "default_providers_path",
    "load_configuration",
    "load_providers",
    "scenario_path",
    "shipped_scenarios",
]
