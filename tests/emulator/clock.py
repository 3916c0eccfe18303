"""The emulator's clock: real monotonic time plus whatever a test has skipped ahead.

Interaction deadlines (3 s to answer, 15 minutes for the token), rate-limit windows and the nonce
window read it, so a test moves past them with `emulator.clock.advance(minutes=15)` instead of
waiting.
"""

from __future__ import annotations

import time


class EmulatorClock:
    """Seconds on a monotonic scale; `advance` moves it forward for everything the emulator times."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def now(self) -> float:
        return time.monotonic() + self.skipped

    def advance(self, *, seconds: float = 0.0, minutes: float = 0.0, hours: float = 0.0) -> None:
        """Jump forward (never back: Discord's time does not run backwards)."""
        step = seconds + 60.0 * minutes + 3600.0 * hours
        if step < 0:
            raise ValueError("the emulator's clock only moves forward")
        self.skipped += step
