"""Workload: what the interviews ask of the plan — samplers, the compiled script, arrivals."""

from capacity.workload.calendar import (
    Sessions,
    active_hours_per_day,
    build_sessions,
    business_days,
    horizon_s,
    need_interviews_per_day,
    run_start,
)
from capacity.workload.distributions import Sampler, sampler
from capacity.workload.script import CompiledScript, Turn, compile_script

__all__ = [
    "CompiledScript",
    "Sampler",
    "Sessions",
    "Turn",
    "active_hours_per_day",
    "build_sessions",
    "business_days",
    "compile_script",
    "horizon_s",
    "need_interviews_per_day",
    "run_start",
    "sampler",
]
