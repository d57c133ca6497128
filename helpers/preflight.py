"""Preflight for notebook 00: can this kernel reach KMS, with which credentials, and is the clock right?

KMS refuses requests whose Timestamp is more than 15 minutes off (`InvalidTimeStamp.Expired`), and
a laptop whose clock drifted is a classic first-morning failure, so the clock is checked against
the endpoint's HTTP `Date` header. Nothing printed here is a secret.
"""

from __future__ import annotations

import email.utils
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from .errors import KmsError
from .kms import Kms

MAX_SKEW_SECONDS = 15 * 60


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"{'ok ' if self.ok else 'FAIL'}  {self.name:<12} {self.detail}"


def server_date_skew(endpoint: str, timeout: float = 5.0) -> float | None:
    """Seconds the server's clock is ahead of ours (negative: behind), or None if it sent no Date."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(endpoint + "/", timeout=timeout) as response:
            date = response.headers.get("Date")
    except urllib.error.HTTPError as err:  # KMS answers a bare GET with an error, and a Date
        date = err.headers.get("Date")
    except OSError:
        return None
    if not date:
        return None
    return email.utils.parsedate_to_datetime(date).timestamp() - time.time()


def run(kms: Kms) -> list[Check]:
    info = kms.connection
    checks = [
        Check("backend", True, f"{info.backend_label()} in {info.region}"),
        Check("credentials", True, info.credential_source),
    ]
    try:
        regions = kms.describe_regions()
        checks.append(Check("endpoint", True, f"reachable, answers DescribeRegions ({len(regions)} region(s))"))
    except KmsError as err:
        checks.append(Check("endpoint", False, f"{err.code}: {err.hint}"))
    if info.backend == "replay":
        # A recording's answers carry the recording's dates, so there is no live clock to compare;
        # the line still says what a learner's own run (emulator or cloud) checks here.
        checks.append(Check("clock", True, "skipped on a recording; live, this line compares this "
                                           "machine's clock with the endpoint's (KMS allows ±15 minutes)"))
        return checks
    skew = server_date_skew(info.endpoint)
    if skew is None:
        checks.append(Check("clock", False, "the server sent no Date header; check the endpoint"))
    else:
        ok = abs(skew) < MAX_SKEW_SECONDS - 60
        detail = "within the ±15 minutes KMS allows" if ok else f"off by {skew:+.0f} s: fix the system clock (NTP)"
        checks.append(Check("clock", ok, detail))
    return checks


def report(kms: Kms) -> bool:
    """Print the checks; True when all passed."""
    checks = run(kms)
    for check in checks:
        print(check)
    return all(c.ok for c in checks)


#: What a learner must know before using the cloud backend; docs/cloud.md has the sources and the
#: [C]/[I] marks behind each line.
CLOUD_CHECKLIST = (
    "Cost: accounts opened since 2022-03-31 (KMS 3.0) keep custom keys in a paid KMS instance; "
    "set KMS_WORKSHOP_INSTANCE_ID=kst-... for it.",
    "Access: the classic SDK uses the shared gateway; the instance's public network access switch "
    "must be on to use its keys from a laptop.",
    "Billing after the workshop: scheduling key deletion does not stop the instance's fee; "
    "release the instance.",
    "Permissions: a RAM user or STS role with docs/ram/learner-policy.json; the server gets "
    "docs/ram/server-policy.json (Decrypt on one key), best as an ECS RAM role.",
    "Safety: the kit touches only aliases under alias/kms-workshop/<learner>/ and keys tagged "
    "created-by=kms-workshop for that learner; 99_cleanup asks for a confirmation token.",
)


def cloud_checklist(kms: Kms) -> str:
    """The cloud checklist in full on the cloud backend; a summary on the emulator and replay."""
    info = kms.connection
    if info.backend != "cloud":
        return (f"{info.backend} backend: no account, no cost, nothing to check. Before the cloud "
                "backend: a paid KMS instance (KMS 3.0), its public access switch, RAM permissions, "
                "and releasing the instance afterwards; see docs/cloud.md.")
    lines = [f"cloud backend, region {info.region}, learner {info.learner}. Before going on:"]
    lines += [f"  {n}. {text}" for n, text in enumerate(CLOUD_CHECKLIST, 1)]
    lines.append("  Details and sources: docs/cloud.md")
    return "\n".join(lines)
