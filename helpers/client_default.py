"""The client a helper uses when the caller passes none: `connect()` with the environment's
settings (KMS_WORKSHOP_BACKEND, ...). One owner for files, envelope, startup and the CLI; the
SDK is imported only when a default client is really made."""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")


def or_default(kms: T | None) -> T | Any:
    """`kms` itself, or a client from `helpers.connect()` when it is None."""
    if kms is not None:
        return kms
    from .client import connect

    return connect()
