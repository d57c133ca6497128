"""Teaching faults: a per-account QPS limit (429 Rejected.Throttling) and injected 503s.

The classic SDK never retries KMS calls, so these surface on the first try and notebooks can
show what the helpers' own retries do.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from . import errors

REAL_QPS = 750  # the documented per-account quota for cryptographic calls (https://alibabacloud.com/help/en/kms/key-management-service/support/limits)


def parse_qps(value: int | str | None) -> int | None:
    """None/"off"/"" -> no limit, "real" -> 750, a positive integer (or its text) -> that limit."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "off", "none")):
        return None
    if isinstance(value, str) and value.strip().lower() == "real":
        return REAL_QPS
    try:
        limit = int(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"qps_limit must be an integer, 'real' or 'off', not {value!r}") from exc
    if limit < 1:
        raise ValueError("qps_limit must be at least 1")
    return limit


def _count(value: int | str | None, name: str) -> int | None:
    # Not parse_qps: a count may be 0 (off) and has no "real" preset; the two rules stay apart.
    if value is None or value == "" or value == "off":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a non-negative integer") from exc
    if number < 0:
        raise ValueError(f"{name} must be a non-negative integer")
    return number or None


class Faults:
    def __init__(self, qps_limit: int | str | None = None, unavailable_every: int | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self._lock = threading.Lock()
        self._monotonic = monotonic
        self.qps_limit = parse_qps(qps_limit)
        self.unavailable_every = _count(unavailable_every, "unavailable_every")
        self.unavailable_next = 0
        self._requests = 0
        self._windows: dict[str, tuple[int, int]] = {}  # account -> (second, count in that second)

    def configure(self, *, qps_limit: int | str | None = ..., unavailable_next: int | str | None = None,  # type: ignore[assignment]
                  unavailable_every: int | str | None = ...) -> dict[str, int | None]:  # type: ignore[assignment]
        """Change settings at run time; parameters left out keep their value."""
        with self._lock:
            if qps_limit is not ...:
                self.qps_limit = parse_qps(qps_limit)
            if unavailable_next is not None:
                self.unavailable_next = _count(unavailable_next, "unavailable_next") or 0
            if unavailable_every is not ...:
                self.unavailable_every = _count(unavailable_every, "unavailable_every")
        return self.settings()

    def settings(self) -> dict[str, int | None]:
        return {"qps_limit": self.qps_limit, "unavailable_next": self.unavailable_next,
                "unavailable_every": self.unavailable_every}  # fmt: skip

    def before_request(self) -> None:
        """Gateway-level outage, decided before authentication."""
        with self._lock:
            self._requests += 1
            if self.unavailable_next > 0:
                self.unavailable_next -= 1
                raise errors.ServiceUnavailableTemporary()
            if self.unavailable_every and self._requests % self.unavailable_every == 0:
                raise errors.ServiceUnavailableTemporary()

    def throttle(self, account_id: str) -> None:
        """Fixed one-second window per account. [I] one limit for all actions: the real quotas
        differ by action class (cryptographic 750/s, read 20/s, write 10/s)."""
        if self.qps_limit is None:
            return
        second = int(self._monotonic())
        with self._lock:
            start, count = self._windows.get(account_id, (second, 0))
            count = count + 1 if start == second else 1
            self._windows[account_id] = (second, count)
            if count > self.qps_limit:
                raise errors.Throttling()
