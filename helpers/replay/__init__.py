"""The recorded-response stub: record any KMS backend through a proxy, replay it exactly.

    from helpers.replay import Recorder, ReplayServer
    with Recorder("http://127.0.0.1:PORT", "notebooks/cassettes/00_setup.yaml") as rec:
        ...  # point the client at rec.endpoint; stop() writes the cassette
    with ReplayServer("notebooks/cassettes/00_setup.yaml") as stub:
        ...  # point the client at stub.endpoint

`python -m tools.record --all` (`make record`, a maintainer tool) re-records every notebook; `python -m helpers replay --cassette X`
serves one cassette in its own process. Format and matching rules: docs/replay.md.
"""

from .cassette import ACCOUNT_PLACEHOLDER as ACCOUNT_PLACEHOLDER
from .cassette import Cassette as Cassette
from .cassette import Interaction as Interaction
from .cassette import Request as Request
from .cassette import Response as Response
from .recorder import Recorder as Recorder
from .server import NO_MATCH_CODE as NO_MATCH_CODE
from .server import ReplayServer as ReplayServer
