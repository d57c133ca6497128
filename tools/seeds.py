"""What an emulator holds before a notebook is recorded, for notebooks whose output depends on it.

`99_cleanup` is recorded against a seeded emulator so that its saved plan shows a workshop being
removed and foreign resources being kept, each with its reason.
"""

from __future__ import annotations

from collections.abc import Callable

import helpers
from helpers import workshop

#: Recordings are made as this learner (its name is in the requests' aliases, so replay uses it
#: too), whoever the maintainer is; seeds add another learner's resources, which cleanup keeps.
RECORD_LEARNER = workshop.RECORDING_LEARNER
OTHER_LEARNER = "grace"


def seed_workshop(endpoint: str) -> None:
    """What an account holds when a learner reaches the cleanup notebook: the learner's workshop
    keys, aliases and secret, and foreign resources that cleanup must leave alone, each for its own
    reason (the seed's doc-page alias on an application key, the kit's description without its tag,
    a tag with another value, another learner's workshop key, an application alias on a kit key, and
    a secret made by hand in the learner's namespace without the kit's tags)."""
    with helpers.connect("emulator", endpoint=endpoint, learner=RECORD_LEARNER) as kms:
        keys = {name: helpers.ensure_key(kms, name) for name in ("demo", "Apollo/WorkKey", "playground")}
        app = kms.create_key(description="an application key that is not the workshop's")
        kms.create_alias("alias/Apollo/WorkKey", app.key_id)  # the doc page's alias, made before the workshop
        kms.create_key(description="kms-workshop: looks like the kit's, but has no kit tag")
        kms.create_key(description="kms-workshop: another team's", tags={workshop.KIT_TAG_KEY: "other-team"})
        used = workshop.new_key(kms, "used by an application since")
        kms.create_alias("alias/billing/current", used.key_id)
        workshop.new_secret(kms, "tls-key", "a throwaway value", encryption_key_id=keys["Apollo/WorkKey"].key_id)
        kms.create_secret(workshop.secret_name(kms, "made-by-hand"), "a throwaway value")
    with helpers.connect("emulator", endpoint=endpoint, learner=OTHER_LEARNER) as other:
        helpers.ensure_key(other, "Apollo/WorkKey")


#: notebooks recorded against a seeded emulator instead of an empty one (the seed's requests go
#: straight to the emulator, so they are not in the cassette)
SEEDS: dict[str, Callable[[str], None]] = {"99_cleanup": seed_workshop}
