"""The fleet processes' site (tests/e2e/scale_out_support.py puts this folder on PYTHONPATH): the
emulator's own sitecustomize, then digest ticks and claim leases shortened when the test asks.

LIKELENS_DIGEST_TICK_SECONDS and LIKELENS_DIGEST_CLAIM_SECONDS become the defaults of the
scheduler's tick_seconds and claim_seconds (what in-process tests pass to DigestScheduler), so a
test sees several ticks and a lease run out within seconds; `python bot.py` is otherwise unchanged.
"""

import functools
import inspect
import os
import runpy
from pathlib import Path
from typing import Any

runpy.run_path(str(Path(__file__).resolve().parents[2] / "emulator" / "subprocess_site" / "sitecustomize.py"))

KNOBS = {"tick_seconds": "LIKELENS_DIGEST_TICK_SECONDS", "claim_seconds": "LIKELENS_DIGEST_CLAIM_SECONDS"}


def shorten_digest_timings() -> None:
    """Make the asked-for knobs DigestScheduler's defaults (those its __init__ accepts)."""
    asked = {name: float(os.environ[variable])
             for name, variable in KNOBS.items() if os.environ.get(variable)}
    if not asked:
        return
    from digests.scheduler import DigestScheduler  # noqa: PLC0415 (only when a knob is set)

    accepted = inspect.signature(DigestScheduler.__init__).parameters
    defaults = {name: value for name, value in asked.items() if name in accepted}
    original = DigestScheduler.__init__

    @functools.wraps(original)
    def shortened(self: DigestScheduler, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **{**defaults, **kwargs})

    DigestScheduler.__init__ = shortened  # type: ignore[method-assign]


shorten_digest_timings()
