"""Retries for KMS calls, which the classic SDK never retries (docs/sdk-behaviour.md, No retries).

Only calls that are safe to repeat are retried, and only on conditions that say "try again":
throttling, 5xx and network errors. Create* calls are never retried: KMS has no client token, so
a retry after a lost response could create a second key or fail on the alias it just created.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import KmsError, KmsNetworkError, ServiceUnavailableError, ThrottledError

log = logging.getLogger("helpers.retry")

#: actions that can be repeated without changing the outcome
IDEMPOTENT_ACTIONS = frozenset(
    {
        "DescribeKey", "ListKeys", "ListAliases", "ListAliasesByKeyId", "ListResourceTags",
        "DescribeRegions", "Encrypt", "Decrypt", "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext", "ReEncrypt", "EnableKey", "DisableKey",
        "UpdateAlias", "UpdateKeyDescription", "TagResource", "UntagResource",
    }
)  # fmt: skip


def is_retryable(error: KmsError) -> bool:
    """Throttling, server-side 5xx and network failures; never a client mistake (4xx)."""
    if isinstance(error, ThrottledError | ServiceUnavailableError | KmsNetworkError):
        return True
    return error.http_status is not None and error.http_status >= 500


@dataclass(frozen=True)
class Attempt:
    """One retry that happened: what failed, and how long the helper waited before trying again."""

    action: str
    attempt: int
    code: str
    waited: float


@dataclass
class RetryPolicy:
    """Capped exponential backoff with full jitter (delay = random(0, min(cap, base * 2**n)))."""

    max_attempts: int = 4
    base_delay: float = 0.1
    max_delay: float = 2.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1 (1 means no retries)")

    def delay(self, retry_number: int) -> float:
        return self.rng.uniform(0, min(self.max_delay, self.base_delay * 2**retry_number))

    def run(
        self, action: str, call: Callable[[], bytes], history: list[Attempt]
    ) -> bytes:
        """Run `call`, retrying per the policy; every retry is appended to `history` and logged."""
        attempts = self.max_attempts if action in IDEMPOTENT_ACTIONS else 1
        for n in range(attempts):
            try:
                return call()
            except KmsError as error:
                if n + 1 >= attempts or not is_retryable(error):
                    raise
                wait = self.delay(n)
                history.append(Attempt(action, n + 1, error.code, wait))
                log.info(
                    "%s failed with %s (attempt %d of %d); retrying in %.2f s",
                    action, error.code, n + 1, attempts, wait,
                )
                self.sleep(wait)
        raise AssertionError("unreachable: the loop returns or raises")
