"""A tick's claims of due digests (store/digest_claims.py), kept while the tick runs them.

The claims are renewed a third of the lease at a time, so a long tick keeps them; one lost
meanwhile (this process stalled past its lease, and another took the digest over) is not run here.
What the tick did not finish is released at its end, for the others at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from store import digest_claims as claims
from store.engine import Database

log = logging.getLogger("likelens.digests")

TAKEN_OVER = "Digest #{id} was taken over by another LikeLens process (this one was too slow): not run here."
RUNNING_ELSEWHERE = "Digest #{id} is running in another LikeLens process right now: nothing more was posted."


class TickClaims:
    """The digests a tick claimed, and which of them it still holds."""

    def __init__(
        self, conn: Database, holder: str, digest_ids: Iterable[int], *, clock: Callable[[], float],
        lease_seconds: float, claimed_at: float,
    ) -> None:
        self._conn = conn
        self._holder = holder
        self._clock = clock
        self._lease = lease_seconds
        self._pending = list(digest_ids)
        self._held = set(self._pending)
        self._renewed_at = claimed_at

    async def still_ours(self, digest_id: int) -> bool:
        """Whether the tick still holds digest_id's claim, about to run it (renewing them all when due)."""
        now = self._clock()
        if now - self._renewed_at >= self._lease / 3:
            self._held = await claims.renew_claims(
                self._conn, self._holder, self._pending, now=now, lease_seconds=self._lease)
            self._renewed_at = now
        self._pending = [i for i in self._pending if i != digest_id]
        return digest_id in self._held

    async def release(self) -> None:
        """Give up what the tick still holds (runs that ended without moving their digest: skipped)."""
        try:
            await claims.release_claims(self._conn, self._holder, self._held)
        except Exception:
            log.exception("Releasing a tick's digest claims failed; they expire after the lease")
