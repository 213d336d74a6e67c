"""A quota-faithful emulator of the providers in ``providers.yaml`` (``capacity emulate``).

It serves an OpenAI-compatible API per provider (``/p/{provider}/v1/chat/completions``),
enforces each model's quotas per account with their documented semantics (the policy room's
windows), answers 429 with ``retry-after`` and OpenAI/Groq-style ``x-ratelimit-*`` headers,
sleeps per each model's latency model on an optionally compressed clock, injects the model's
error rate, scheduled outages and chosen faults, and audits independently that no limit was
ever exceeded (``GET /stats``). Users rehearse a plan against it; the live tests use it.
"""

from capacity.live.emulator.app import build_app
from capacity.live.emulator.clock import Clock, ManualClock, ScaledClock
from capacity.live.emulator.faults import FaultKind, FaultRates, parse_fault_rate
from capacity.live.emulator.server import EmulatorThread, bind, serve_forever
from capacity.live.emulator.service import DEFAULT_MAX_TOKENS, Emulator

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "Clock",
    "Emulator",
    "EmulatorThread",
    "FaultKind",
    "FaultRates",
    "ManualClock",
    "ScaledClock",
    "bind",
    "build_app",
    "parse_fault_rate",
    "serve_forever",
]
