"""Loopback HTTP plumbing shared by the replayer and the recorder, and the replayer itself.

Both serve `POST /?<params>` (the classic SDK's shape: every parameter in the query string, empty
body; a form body is accepted too), bind to 127.0.0.1 only, answer on keep-alive connections from
a thread per connection under the emulator's limits (helpers/httpwire.py, helpers/httpguard.py),
and send the status line, headers and body in ONE write: two writes cost ~44 ms per call
(Nagle + delayed ACK, see docs/sdk-behaviour.md).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from http.client import HTTPMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from helpers.httpguard import GuardedHandler, GuardedHTTPServer
from helpers.httpwire import Head, Limits

from .cassette import Cassette, Interaction, Request

NO_MATCH_CODE = "Replay.NoMatch"
BAD_REQUEST_CODE = "ParseRequestParameterException"  # the service's code for a request it cannot parse
HOST_ID = "replay.127.0.0.1"
_log = logging.getLogger(__name__)
_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 500: "Internal Server Error"}


class BadRequestError(Exception):
    """A request the stub cannot read: answered 400 in the service's error shape."""


def wire_params(path: str, body: bytes, content_type: str) -> dict[str, str]:
    """Query parameters, then form-body parameters (the body wins on a clash)."""
    params = dict(parse_qsl(urlsplit(path).query, keep_blank_values=True))
    if body and "x-www-form-urlencoded" in content_type:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRequestError("The form body is not UTF-8.") from exc
        params.update(parse_qsl(text, keep_blank_values=True))
    return params


def request_params(path: str, headers: Any, body: bytes) -> dict[str, str]:
    """The API parameters of a request, whichever way it is signed: v1 (classic SDK) carries
    Action and Version as parameters; V3 (the Tea SDKs, e.g. Alibaba's secrets-manager client)
    carries them in the x-acs-action and x-acs-version headers. Matching uses the same names."""
    params = wire_params(path, body, headers.get("Content-Type", ""))
    for name, header in (("Action", "x-acs-action"), ("Version", "x-acs-version")):
        value = headers.get(header)
        if value and name not in params:
            params[name] = value
    return params


def http_response(status: int, body: bytes, content_type: str = "application/json;charset=utf-8") -> bytes:
    head = (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: keep-alive\r\n\r\n"
    ).encode("ascii")
    return head + body


def error_response(status: int, code: str, message: str) -> bytes:
    """An error the stub itself makes, in the service's JSON shape (the SDKs read Code and Message)."""
    request_id = str(uuid.uuid4()).upper()
    body = {
        "RequestId": request_id, "HostId": HOST_ID, "Code": code, "Message": message, "HttpStatus": status,
        "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}&product=Kms&requestId={request_id}",
    }  # fmt: skip
    return http_response(status, json.dumps(body, ensure_ascii=False).encode("utf-8"))


class _Handler(GuardedHandler):
    """One connection: requests are framed by helpers.httpwire, under helpers.httpguard's limits."""

    server: _Server

    def serve(self, head: Head, body: bytes) -> None:
        if head.method not in ("GET", "POST"):
            self.wfile.write(error_response(403, "UnsupportedHTTPMethod", f"{head.method} is not supported."))
            return
        headers = HTTPMessage()  # case-insensitive, keeps each name as sent (the recorder forwards them)
        for name, value in head.fields:
            headers[name] = value
        try:
            data = self.server.owner.handle(head.method, head.target, headers, body)
        except BadRequestError as exc:
            data = error_response(400, BAD_REQUEST_CODE, str(exc))
        except Exception:  # answer the client instead of hanging it; the details go to the log only
            _log.exception("replay stub failed on %s %s", head.method, head.target[:200])
            data = error_response(500, "Replay.InternalError", "The replay stub failed; see its log.")
        self.wfile.write(data)  # one write: status line, headers and body together

    def reject(self, message: str) -> None:
        data = error_response(400, BAD_REQUEST_CODE, message)
        self.wfile.write(data.replace(b"Connection: keep-alive", b"Connection: close", 1))


class _Server(GuardedHTTPServer):
    def __init__(self, owner: LoopbackServer, port: int, limits: Limits | None) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", port), _Handler, limits)


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 that hands each request to `handle()`.

    `limits` bound what one client may make it hold (see helpers/httpwire.py): the same as the
    emulator's unless given.
    """

    def __init__(self, port: int = 0, *, limits: Limits | None = None) -> None:
        self._port = port
        self.limits = limits
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> bytes:
        raise NotImplementedError

    @property
    def endpoint(self) -> str:
        if self._httpd is None:
            raise RuntimeError("not started: call start() first")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def port(self) -> int:
        return int(self.endpoint.rsplit(":", 1)[1])

    def start(self) -> Any:
        if self._httpd is not None:
            return self
        self._httpd = _Server(self, self._port, self.limits)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()  # also wakes idle keep-alive connections, so their threads end

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class Served:
    """One request the replayer answered (for tests and benchmarks)."""

    request: Request
    index: int | None  # the recorded interaction used; None for a mismatch
    seconds: float


class ReplayServer(LoopbackServer):
    """Answers requests from a cassette.

    A request matches a recorded one when its `Action` and every scrubbed parameter are equal.
    Identical requests get their recorded responses in recorded order; once those are used up,
    the last one is served again (so a learner can re-run a cell), unless `strict=True`, which
    answers `Replay.NoMatch` instead. Anything else gets HTTP 400 `Replay.NoMatch`, whose message
    names the cassette, the closest recorded request, the parameters that differ and `make record`.
    """

    def __init__(self, cassette: str | Path | Cassette, *, port: int = 0, strict: bool = False,
                 limits: Limits | None = None) -> None:  # fmt: skip
        super().__init__(port, limits=limits)
        self.cassette = cassette if isinstance(cassette, Cassette) else Cassette.load(cassette)
        self.strict = strict
        self.served: list[Served] = []
        self._used = [False] * len(self.cassette.interactions)
        self._lock = threading.Lock()

    @property
    def learner(self) -> str | None:
        """The learner the recording was made as (`connect()` uses it for the replay backend)."""
        return self.cassette.learner

    @property
    def recorded_on(self) -> str:
        """The backend the recording was made on (the cassette's `upstream`: "emulator", "cloud")."""
        return self.cassette.upstream

    @property
    def unused(self) -> list[Interaction]:
        """Recorded interactions no request has asked for (yet)."""
        return [i for i, used in zip(self.cassette.interactions, self._used) if not used]

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> bytes:
        start = time.perf_counter()
        request = Request.from_wire(request_params(path, headers, body))
        with self._lock:
            index = self._match(request)
            if index is None:
                data = self._no_match(request)
            else:
                self._used[index] = True
                recorded = self.cassette.interactions[index].response
                data = http_response(recorded.status, recorded.to_bytes())
            self.served.append(Served(request, index, time.perf_counter() - start))
        return data

    def _match(self, request: Request) -> int | None:
        last = None
        for n, recorded in enumerate(self.cassette.interactions):
            if recorded.request == request:
                if not self._used[n]:
                    return n
                last = n
        return None if self.strict else last

    def _closest(self, request: Request) -> int | None:
        best, best_score = None, -1.0
        for n, recorded in enumerate(self.cassette.interactions):
            r = recorded.request
            names = set(r.params) | set(request.params)
            same = sum(1 for k in names if r.params.get(k) == request.params.get(k))
            score = (1000 if r.action == request.action else 0) + same - len(names) * 0.01
            score += 0.5 if not self._used[n] else 0  # prefer what the notebook has not used yet
            if score > best_score:
                best, best_score = n, score
        return best

    def no_match_message(self, request: Request) -> str:
        where = _display_path(self.cassette.path) if self.cassette.path else f"{self.cassette.notebook}.yaml"
        lines = [f"No recorded response in cassette {where} for {request.describe()}."]
        closest = self._closest(request)
        if closest is None:
            lines.append("The cassette has no recorded requests.")
        else:
            recorded = self.cassette.interactions[closest].request
            lines.append(f"Closest recorded request (#{closest + 1}): {recorded.describe()}.")
            diffs = request.differences(recorded)
            if not diffs and self.strict:
                diffs = ["none: every recorded response to this request was already used"]
            lines.append("Differs in: " + "; ".join(diffs) + ".")
        lines.append(
            "The notebook no longer makes the calls that were recorded: run `make record` to "
            "re-record it (see docs/replay.md)."
        )
        return " ".join(lines)

    def _no_match(self, request: Request) -> bytes:
        return error_response(400, NO_MATCH_CODE, self.no_match_message(request))


def _display_path(path: Path) -> str:
    """The cassette's path relative to the repository when it is inside it (as the docs name it)."""
    repo = Path(__file__).resolve().parents[2]
    full = path.resolve()
    return str(full.relative_to(repo)) if full.is_relative_to(repo) else str(path)
