"""Replay protection: a signed request is served once; the same request again is refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError

from ledger.db import Database
from ledger.tables import seen_requests


class ReplayGuard:
    """Remembers request fingerprints in the ledger's database for `window` (shared by workers)."""

    def __init__(
        self, database: Database, clock: Callable[[], datetime], window: timedelta
    ) -> None:
        self.database = database
        self.clock = clock
        self.window = window

    def first_sight(self, key: str) -> bool:
        """True the first time a fingerprint is seen within the window, False for a replay."""
        now = self.clock()
        try:
            with self.database.write() as conn:
                # Forget fingerprints older than the window: their timestamps are refused anyway.
                expired = seen_requests.c.seen_at < now - self.window
                conn.execute(delete(seen_requests).where(expired))
                conn.execute(insert(seen_requests).values(key=key[:128], seen_at=now))
        except IntegrityError:
            return False
        return True
