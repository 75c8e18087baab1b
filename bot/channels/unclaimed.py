"""Deliveries answered while the database could not record them.

When the claim of a delivery fails because the database is down, the delivery is answered
anyway (FAQ answers need no database) and its id is remembered here, in this process only, so
that the platform's retry of it to this replica is acknowledged without a second answer.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

REMEMBERED = 10_000  # delivery ids kept; the oldest are forgotten first


class UnclaimedDeliveries:
    """A bounded, thread-safe set of delivery ids, oldest forgotten first."""

    def __init__(self, size: int = REMEMBERED) -> None:
        self._size = size
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def first(self, delivery_id: str) -> bool:
        """Remember `delivery_id`; True unless it was remembered already."""
        with self._lock:
            if delivery_id in self._ids:
                return False
            self._ids[delivery_id] = None
            if len(self._ids) > self._size:
                self._ids.popitem(last=False)
            return True

    def __contains__(self, delivery_id: object) -> bool:
        with self._lock:
            return delivery_id in self._ids

    def __len__(self) -> int:
        with self._lock:
            return len(self._ids)
