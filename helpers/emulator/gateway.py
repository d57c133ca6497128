"""From one HTTP request to one JSON answer: parameters, faults, auth, dispatch, error rendering.

Transport-free (``server.py`` does sockets), so it is easy to test and the only place where
errors become JSON. Anything unexpected becomes 500 InternalFailure JSON, never a traceback.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from . import errors
from .auth import Authenticator, is_v3
from .backend import KmsBackend
from .faults import Faults
from .models import Scope
from .params import decode_form, parse_params
from .responses import ACTIONS, Call

API_VERSION = "2016-01-20"
FAULTS_PATH = "/-/faults"
_log = logging.getLogger(__name__)


@dataclass
class HttpRequest:
    method: str
    path: str
    query: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes = b""
    client_ip: str = "127.0.0.1"


@dataclass
class HttpResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json;charset=utf-8"})


class Gateway:
    def __init__(self, backend: KmsBackend, auth: Authenticator, faults: Faults, region: str) -> None:
        self.backend, self.auth, self.faults, self.region = backend, auth, faults, region

    def handle(self, request: HttpRequest) -> HttpResponse:
        request_id = self.backend.entropy.uuid4()
        try:
            if request.path == FAULTS_PATH:
                return self._faults(request)
            body = self._dispatch(request)
            body["RequestId"] = request_id
            return HttpResponse(200, json.dumps(body, ensure_ascii=False).encode())
        except errors.KmsApiError as exc:
            return self.render(exc, request_id)
        except Exception:  # the one catch-all: a bug must still answer JSON, not a traceback
            _log.exception("emulator bug while handling %s %s", request.method, request.path)
            return self.render(errors.InternalFailure(), request_id)

    def render(self, exc: errors.KmsApiError, request_id: str | None = None) -> HttpResponse:
        request_id = request_id or self.backend.entropy.uuid4()
        body = {
            "RequestId": request_id, "HostId": f"kms.{self.region}.aliyuncs.com", "Code": exc.code,
            "Message": exc.message, "HttpStatus": exc.http_status,
            "Recommend": f"https://api.aliyun.com/troubleshoot?q={exc.code}&product=Kms&requestId={request_id}",
        }  # fmt: skip
        return HttpResponse(exc.http_status, json.dumps(body, ensure_ascii=False).encode())

    def _dispatch(self, request: HttpRequest) -> dict[str, object]:
        if request.path != "/":
            raise errors.InvalidActionNotFound()
        if request.method not in ("GET", "POST"):
            raise errors.UnsupportedHTTPMethod()
        self.faults.before_request()
        params = parse_params(request.query, request.body, request.headers.get("content-type", ""))
        if params.get("Format", "JSON").upper() != "JSON":
            raise errors.InvalidParameter.named("Format", "The emulator answers JSON only.")
        query = dict(decode_form(request.query, "query")) if is_v3(request.headers) else None
        caller = self.auth.authenticate(request.method, params, request.headers, request.body, query)
        if caller.version != API_VERSION:
            raise errors.InvalidVersion()
        handler = ACTIONS.get(caller.action)
        if handler is None:
            raise errors.InvalidActionNotFound()
        self.faults.throttle(caller.account.account_id)
        # One endpoint serves one region, like kms.<region>.aliyuncs.com; RegionId is not a scope.
        scope = Scope(caller.account.account_id, self.region)
        return handler(Call(self.backend, scope, params))

    def _faults(self, request: HttpRequest) -> HttpResponse:
        """Emulator-only control path: change teaching faults from another process (loopback only)."""
        try:
            loopback = ipaddress.ip_address(request.client_ip.split("%")[0]).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise errors.InvalidActionNotFound()
        if request.method != "POST":
            raise errors.UnsupportedHTTPMethod()
        form = parse_params(request.query, request.body, request.headers.get("content-type", ""))
        known = {"qps_limit", "unavailable_next", "unavailable_every"}
        unknown = set(form) - known
        if unknown:
            raise errors.InvalidParameter.named(sorted(unknown)[0])
        try:
            settings = self.faults.configure(**form)
        except ValueError as exc:
            raise errors.InvalidParameter(str(exc)) from exc
        return HttpResponse(200, json.dumps(settings).encode())
