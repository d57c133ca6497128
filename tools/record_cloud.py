"""Recording against Alibaba Cloud: what a recording creates, and removing it afterwards with the
kit's own cleanup (the code `99_cleanup` uses), limited to what that recording created."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from helpers.replay.cassette import Cassette


def created_resources(cassette: Cassette) -> tuple[list[str], list[str]]:
    """(key ids, alias names) that a recording created, from its successful calls."""
    keys, aliases = [], []
    for i in cassette.interactions:
        if i.response.status != 200:
            continue
        if i.request.action == "CreateKey" and isinstance(i.response.body, dict):
            key_id = (i.response.body.get("KeyMetadata") or {}).get("KeyId")
            if key_id:
                keys.append(key_id)
        elif i.request.action == "CreateAlias":
            aliases.append(i.request.params.get("AliasName", ""))
    return keys, [a for a in aliases if a]


def cloud_plan(notebooks: list[Path], cassette_dir: Path) -> str:
    """What recording against the cloud will create, judged from the previous recordings."""
    lines = []
    for nb in notebooks:
        cassette = cassette_dir / f"{nb.stem}.yaml"
        if cassette.is_file():
            keys, aliases = created_resources(Cassette.load(cassette))
            what = f"{len(keys)} key(s)" + (f", aliases {', '.join(aliases)}" if aliases else "")
        else:
            what = "unknown (never recorded)"
        lines.append(f"  {nb.name}: {what}")
    return "\n".join(lines)


def cleanup_cloud(kms: Any, keys: list[str], log: Callable[[str], None] = print) -> None:
    """Clean up after recording one notebook against the cloud, with the kit's own cleanup: the
    plan is limited to the keys this recording created (and proven the kit's), printed, and
    applied with its token (the maintainer agreed to this cleanup before recording started)."""
    from helpers import cleanup

    plan = cleanup.plan(kms, only_keys=keys)
    for line in plan.describe().splitlines():
        log(f"  {line}")
    if not plan.empty:
        for line in cleanup.apply(kms, plan, confirm=plan.token).describe().splitlines():
            log(f"  {line}")
