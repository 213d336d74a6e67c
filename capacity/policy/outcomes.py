"""How turns are served and how interviews end, as compiled constants for the hot path.

In the compiled engine, reading a member off an ``Enum`` class (``Served.PROVIDER``) goes through
the class's ``__getattr__`` and costs about 110 ns; a module-level ``Final`` is a C static, about
2 ns, read as directly from the modules that import it (both measured). The turn pipeline and
the recorder read a few of these per turn, so they read them from here; everything else keeps
the enums' own spelling (:class:`~capacity.units.Served`, :class:`~capacity.units.Outcome`).
"""

from __future__ import annotations

from typing import Final

from capacity.units import Outcome, Served

# how a turn was served
PROVIDER: Final = Served.PROVIDER
CACHE: Final = Served.CACHE
DEDUPLICATED: Final = Served.DEDUPLICATED
DEGRADED: Final = Served.DEGRADED
FAILED: Final = Served.FAILED
TEMPLATE: Final = Served.TEMPLATE

# how an interview ended
COMPLETED: Final = Outcome.COMPLETED
INTERVIEW_DEGRADED: Final = Outcome.DEGRADED
INTERVIEW_FAILED: Final = Outcome.FAILED
