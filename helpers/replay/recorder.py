"""The recorder: a loopback proxy that forwards each request unchanged and writes a cassette.

Point a client (or a notebook kernel, through `KMS_WORKSHOP_ENDPOINT`) at `Recorder.endpoint`;
each request goes to the upstream exactly as signed (the RPC signature does not cover the host,
so it stays valid) and the answer comes back unchanged. What is written to the cassette is
scrubbed (see `cassette.py`). Requests are forwarded one at a time, so the cassette's order is
the order the upstream saw.
"""

from __future__ import annotations

import http.client
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .cassette import Cassette, Interaction, Request, Response, account_ids_in
from .server import LoopbackServer, http_response, request_params

# Hop-by-hop or recomputed headers; everything else (User-Agent, x-acs-*) is forwarded as sent.
_SKIPPED_HEADERS = {"host", "connection", "content-length", "keep-alive", "proxy-connection", "transfer-encoding"}


@dataclass
class Exchange:
    """A raw exchange kept in memory only (never written), for benchmarks: it holds signatures."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    upstream_seconds: float


class Recorder(LoopbackServer):
    """Forward to `upstream` (an `http://` or `https://` URL) and record into `cassette_path`.

    `stop()` writes the cassette; `save()` writes it at any time.
    """

    def __init__(
        self,
        upstream: str,
        cassette_path: str | Path,
        *,
        notebook: str | None = None,
        upstream_label: str = "emulator",
        port: int = 0,
        timeout: float = 60.0,
        keep_raw: bool = False,
        learner: str | None = None,
    ) -> None:
        super().__init__(port)
        parts = urlsplit(upstream)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"upstream must be an http:// or https:// URL, not {upstream!r}")
        self.upstream = upstream
        self._parts = parts
        self._loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
        self._timeout = timeout
        self.cassette_path = Path(cassette_path)
        self.cassette = Cassette(notebook or self.cassette_path.stem, upstream_label, path=self.cassette_path,
                                 learner=learner)
        self.account_ids: set[str] = set()
        self.keep_raw = keep_raw
        self.raw: list[Exchange] = []
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    @property
    def interactions(self) -> list[Interaction]:
        return self.cassette.interactions

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            p = self._parts
            assert p.hostname, "checked in __init__: the upstream URL has a host"
            if p.scheme == "https":
                self._conn = http.client.HTTPSConnection(
                    p.hostname, p.port or 443, timeout=self._timeout, context=ssl.create_default_context()
                )
            else:
                self._conn = http.client.HTTPConnection(p.hostname, p.port or 80, timeout=self._timeout)
        return self._conn

    def _forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, str, bytes]:
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, path, body=body or None, headers=headers)
                resp = conn.getresponse()
                return resp.status, resp.getheader("Content-Type") or "application/json", resp.read()
            except (http.client.HTTPException, ConnectionError) as exc:
                # A keep-alive connection the upstream closed: reconnect once. A request that
                # reached the upstream is never sent twice (a lost answer fails instead).
                conn.close()
                self._conn = None
                if attempt == 2 or not isinstance(exc, (http.client.RemoteDisconnected, BrokenPipeError,
                                                         ConnectionResetError, http.client.CannotSendRequest)):
                    raise
        raise AssertionError("unreachable")

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> bytes:
        forwarded = {k: v for k, v in headers.items() if k.lower() not in _SKIPPED_HEADERS}
        # A V3 signature (the Tea SDKs) covers Host, so a loopback emulator must see the Host the
        # client signed (this recorder's address). The cloud routes by Host, so a recording of the
        # cloud gets the upstream's: record V3 clients against the emulator.
        signed_host = headers.get("Host") if headers.get("Authorization") and self._loopback else None
        forwarded["Host"] = signed_host or self._parts.netloc
        if self._parts.path not in ("", "/"):
            path = self._parts.path.rstrip("/") + path
        with self._lock:
            start = time.perf_counter()
            status, content_type, data = self._forward(method, path, forwarded, body)
            seconds = time.perf_counter() - start
            self.account_ids |= account_ids_in(data.decode("utf-8", errors="replace"))
            params = request_params(path, headers, body)
            if not params.get("Action"):
                # Not an API call (00_setup's clock check is a bare GET for the Date header): it is
                # forwarded but not recorded, since replay never sends it.
                return http_response(status, data, content_type)
            self.cassette.interactions.append(Interaction(
                Request.from_wire(params, self.account_ids),
                Response.from_wire(status, data, self.account_ids),
            ))
            if self.keep_raw:
                self.raw.append(Exchange(method, path, dict(headers.items()), body, status, seconds))
        return http_response(status, data, content_type)

    def save(self) -> Path:
        with self._lock:
            self.cassette.scrub_accounts(self.account_ids)
            return self.cassette.save(self.cassette_path)

    def stop(self) -> None:
        super().stop()
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self.save()
