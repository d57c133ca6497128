"""Where the emulator's randomness comes from: the operating system, or, only to make recordings
reproducible, a generator seeded by the caller.

The seeded mode exists for `tools/record.py`: the notebooks' throwaway keys, key and request ids,
IVs and data keys then come out the same on every run of an unchanged notebook, so a re-recording
differs only where a notebook changed. IVs stay unique per encryption within a run (the stream
never repeats), but they are predictable from the seed, like everything else: never seed an
emulator that holds anything real. `random.Random` is not a cryptographic generator, and here it
does not need to be; the OS mode is the default everywhere else.
"""

from __future__ import annotations

import os
import random
import secrets
import threading
import uuid


class Entropy:
    """Random bytes, ids and choices, from the OS (`seed=None`) or from a seeded generator."""

    def __init__(self, seed: int | None = None) -> None:
        self.seeded = seed is not None
        self._rng = random.Random(seed) if seed is not None else None
        self._lock = threading.Lock()  # concurrent requests must not interleave one draw

    def bytes(self, n: int) -> bytes:
        if self._rng is None:
            return os.urandom(n)
        with self._lock:
            return self._rng.randbytes(n)

    def uuid4(self) -> str:
        return str(uuid.UUID(bytes=self.bytes(16), version=4))

    def string(self, alphabet: str, n: int) -> str:
        if self._rng is None:
            return "".join(secrets.choice(alphabet) for _ in range(n))
        with self._lock:
            return "".join(self._rng.choice(alphabet) for _ in range(n))


#: the default: the operating system's generator (stateless, shared safely)
OS = Entropy()
