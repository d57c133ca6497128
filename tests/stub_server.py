"""A loopback HTTP server that answers from a script of canned responses and counts requests.

Used where a test needs a response the emulator would not give on demand (a 503 exactly twice,
a non-JSON body) and to count how many HTTP requests a helper call really made.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

Reply = tuple[int, dict[str, Any] | bytes]


def error(status: int, code: str, message: str = "stub error") -> Reply:
    return status, {"RequestId": "stub-request-id", "HostId": "stub", "Code": code, "Message": message}


class StubServer:
    def __init__(self, replies: Iterable[Reply] = ()) -> None:
        self.replies: list[Reply] = list(replies)
        self.requests: list[dict[str, str]] = []
        self.default: Reply = (200, {"RequestId": "stub-request-id"})
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's pooled connections expect

            def do_POST(self) -> None:  # noqa: N802 (stdlib name)
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                stub.requests.append(dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True)))
                status, body = stub.replies.pop(0) if stub.replies else stub.default
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                head = (
                    f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(data)}\r\n\r\n"
                ).encode()
                self.wfile.write(head + data)  # one write: docs/sdk-behaviour.md, the 44 ms stall

            do_GET = do_POST

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.01,), daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> StubServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
