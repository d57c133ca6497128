"""From one HTTP request to one JSON answer: parameters, faults, auth, dispatch, error rendering.

Transport-free (``server.py`` does sockets), so it is easy to test and the only place where
errors become JSON. Anything unexpected becomes 500 InternalFailure JSON, never a traceback.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import secrets
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
#: header carrying the emulator's per-run control token on FAULTS_PATH
CONTROL_TOKEN_HEADER = "x-kms-emulator-control"
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


def _host_name(host: str) -> str:
    """The name in a Host header, without its port: ``[::1]:80`` -> ``::1``, ``a.b:80`` -> ``a.b``.

    The Tea secrets-manager client given ``endpoint="http://127.0.0.1:PORT"`` sends that whole URL as
    its Host (and signs it), so a scheme in front is dropped too."""
    host = host.strip().lower()
    for scheme in ("http://", "https://"):
        host = host.removeprefix(scheme)
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name.split("%")[0])
    except ValueError:
        return False
    return True


class Gateway:
    def __init__(self, backend: KmsBackend, auth: Authenticator, faults: Faults, region: str, *,
                 control_token: str | None = None, allowed_hosts: frozenset[str] = frozenset()) -> None:  # fmt: skip
        """``control_token`` authorises FAULTS_PATH (a fresh random one if not given);
        ``allowed_hosts`` are host names besides IP literals, localhost and *.aliyuncs.com that a
        request's Host header may name (e.g. the name a room's shared emulator is reached by)."""
        self.backend, self.auth, self.faults, self.region = backend, auth, faults, region
        self.control_token = control_token or secrets.token_urlsafe(24)
        self.allowed_hosts = frozenset(h.lower() for h in allowed_hosts)
        self._host_verdicts: dict[str, bool] = {}

    def handle(self, request: HttpRequest) -> HttpResponse:
        request_id = self.backend.entropy.uuid4()
        try:
            self._refuse_web_pages(request.headers)
            if request.path == FAULTS_PATH:
                return self._with_id(self._faults(request), request_id)
            body = self._dispatch(request)
            body["RequestId"] = request_id
            return self._with_id(HttpResponse(200, json.dumps(body, ensure_ascii=False).encode()), request_id)
        except errors.KmsApiError as exc:
            return self.render(exc, request_id)
        except Exception:  # the one catch-all: a bug must still answer JSON, not a traceback
            _log.exception("emulator bug while handling %s %s", request.method, request.path)
            return self.render(errors.InternalFailure(), request_id)

    @staticmethod
    def _with_id(response: HttpResponse, request_id: str) -> HttpResponse:
        # The real gateway repeats the body's RequestId in this header; some clients log it from there.
        response.headers["x-acs-request-id"] = request_id
        return response

    def _host_allowed(self, host: str) -> bool:
        # A client sends the same Host on every request; parsing it (ipaddress) costs ~6 us, so the
        # verdicts are remembered (bounded: a client sending random Hosts only empties the memo).
        verdict = self._host_verdicts.get(host)
        if verdict is None:
            name = _host_name(host)
            verdict = (_is_ip(name) or "." not in name or name.endswith((".localhost", ".aliyuncs.com"))
                       or name in self.allowed_hosts)  # fmt: skip
            if len(self._host_verdicts) >= 256:
                self._host_verdicts.clear()
            self._host_verdicts[host] = verdict
        return verdict

    def _refuse_web_pages(self, headers: Mapping[str, str]) -> None:
        """SDKs and scripts call the emulator; web pages must not (a page can POST a signed form to
        loopback, or rebind its own DNS name to 127.0.0.1). Browsers say where a request comes from
        (Origin, Sec-Fetch-Site); SDKs send neither. A rebinding page's Host is its own DNS name, so
        Host must be an IP literal, a name without a dot (this machine's own name; a page cannot
        register one), a localhost name, an Alibaba Cloud name or one configured."""
        host = headers.get("host")
        if host is not None and not self._host_allowed(host):
            raise errors.NoPermission(
                f"The emulator does not answer for Host {_host_name(host)[:80]!r}: use its address (e.g. 127.0.0.1) "
                "or start it with that name allowed."
            )
        if "origin" in headers or headers.get("sec-fetch-site", "none").lower() != "none":
            raise errors.NoPermission("Requests from web pages are refused: call the emulator from an SDK or a script.")

    def render(self, exc: errors.KmsApiError, request_id: str | None = None) -> HttpResponse:
        request_id = request_id or self.backend.entropy.uuid4()
        body: dict[str, object] = {
            "RequestId": request_id, "HostId": f"kms.{self.region}.aliyuncs.com", "Code": exc.code,
            "Message": exc.message, "HttpStatus": exc.http_status,
            "Recommend": f"https://api.aliyun.com/troubleshoot?q={exc.code}&product=Kms&requestId={request_id}",
        }  # fmt: skip
        return self._with_id(HttpResponse(exc.http_status, json.dumps(body, ensure_ascii=False).encode()), request_id)

    def _dispatch(self, request: HttpRequest) -> dict[str, object]:
        if request.path != "/":
            raise errors.InvalidActionNotFound()
        if request.method not in ("GET", "POST"):
            raise errors.UnsupportedHTTPMethod()
        params = parse_params(request.query, request.body, request.headers.get("content-type", ""))
        if params.get("Format", "JSON").upper() != "JSON":
            raise errors.InvalidParameter.named("Format", "The emulator answers JSON only.")
        query = dict(decode_form(request.query, "query")) if is_v3(request.headers) else None
        caller = self.auth.authenticate(request.method, params, request.headers, request.body, query)
        # Injected outages are decided after authentication, so unsigned junk cannot use them up.
        self.faults.before_request()
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
        """Emulator-only control path: change teaching faults from another process. Loopback only,
        and only with the per-run control token (``serve`` prints it; in process, use
        ``Emulator.configure_faults``): any local process or page could otherwise fail every account."""
        try:
            loopback = ipaddress.ip_address(request.client_ip.split("%")[0]).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise errors.InvalidActionNotFound()
        token = request.headers.get(CONTROL_TOKEN_HEADER, "")
        if not hmac.compare_digest(token.encode("utf-8", "replace"), self.control_token.encode()):
            raise errors.NoPermission(f"The fault control path needs the emulator's control token in {CONTROL_TOKEN_HEADER}.")
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
