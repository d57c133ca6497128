"""What a re-recording must not change unless the notebook did: each notebook's own emulator seed,
and the parts of a saved notebook that would otherwise differ from run to run."""

from __future__ import annotations

import copy
import re
import zlib
from pathlib import Path
from typing import Any


def notebook_seed(path: Path) -> int:
    """Each notebook's own seed for its recording emulator: reproducible, and different between
    notebooks so that two notebooks do not show the same key ids."""
    return zlib.crc32(path.stem.encode("utf-8"))


#: The client's own Timestamp in a signed request line (07 shows one): the one value in a saved
#: output that comes from the recording machine's clock, so it is written as the recording
#: emulator's instant.
_CLIENT_TIMESTAMP = re.compile(r"Timestamp=\d{4}-\d\d-\d\dT\d\d(?::|%3A)\d\d(?::|%3A)\d\dZ")


def stabilise(nb: Any, original: Any) -> Any:
    """What a re-recording must not change unless the notebook changed: the notebook's metadata
    (the recording machine's Python version is not the notebook's business), widget views (their
    model ids are new on every run; the text form stays), and the client's request Timestamp."""
    from helpers.emulator.app import RECORDING_TIME

    nb.metadata = copy.deepcopy(original.metadata)
    nb.metadata.pop("widgets", None)
    stamp = "Timestamp=" + RECORDING_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data")
            if data is not None:
                data.pop("application/vnd.jupyter.widget-view+json", None)
                if "text/plain" in data:
                    data["text/plain"] = _CLIENT_TIMESTAMP.sub(stamp, data["text/plain"])
            if "text" in output:
                output["text"] = _CLIENT_TIMESTAMP.sub(stamp, output["text"])
    return nb
