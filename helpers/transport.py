"""One KMS call over the classic SDK: sign, send, retry, and turn SDK exceptions into `KmsError`s.

Also holds the work-arounds for the SDK defects listed in docs/sdk-behaviour.md that apply to
every call: proxies ignored for loopback, TLS warnings, SNI on Python >= 3.12, debug logging that
would print plaintext.
"""

from __future__ import annotations

import json
import logging
import ssl
import sys
import warnings
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException
from aliyunsdkcore.auth.signers.signer import Signer

from . import errors
from .sensitive import CREDENTIAL_PARAMS, SECRET_PARAMS
from .retry import Attempt, RetryPolicy

# The vendored urllib3 emits exactly these two on every HTTPS call; they are about the SDK's own
# code, not the user's, and would turn into errors under `-W error`. Filter only these two.
warnings.filterwarnings("ignore", message="ssl.PROTOCOL_TLS is deprecated", category=DeprecationWarning)
warnings.filterwarnings("ignore", message=r"ssl.match_hostname\(\) is deprecated", category=DeprecationWarning)

# The SDK logs every request's parameters (Plaintext, SecurityToken) and every response body
# (Decrypt's plaintext) at DEBUG. A learner who turns on DEBUG logging must not see secrets.
# http_response sets its own logger to DEBUG (with a stderr handler) when imported, and with the
# SDK's DEBUG=sdk switch logs each full request URL there: import it first, then silence it too.
import aliyunsdkcore.http.http_response  # noqa: E402,F401

for _name in ("aliyunsdkcore", "aliyunsdkcore.http.http_response"):
    logging.getLogger(_name).setLevel(logging.CRITICAL)


def _enable_sni() -> None:
    """Python 3.12 removed `ssl.wrap_socket`; the vendored urllib3 1.24 then believes SNI is
    unavailable and connects without it, which TLS front ends that route by name reject."""
    if sys.version_info < (3, 12):
        return
    from aliyunsdkcore.vendored.requests.packages.urllib3 import util
    from aliyunsdkcore.vendored.requests.packages.urllib3.util import ssl_

    for module in (ssl_, util):
        module.HAS_SNI = ssl.HAS_SNI


_enable_sni()

_MASKED = CREDENTIAL_PARAMS | SECRET_PARAMS

def translate(exc: ServerException | ClientException, action: str) -> errors.KmsError:
    """Map an SDK exception to the kit's error tree (the wire code stays in `.code`)."""
    if isinstance(exc, ServerException):
        code = exc.get_error_code()
        return errors.class_for(code, action)(
            code,
            exc.get_error_msg(),
            http_status=exc.get_http_status(),
            request_id=exc.get_request_id(),
            hint=errors.HINTS.get(code),
        )
    code = exc.get_error_code()
    if code == "SDK.HttpError":
        return errors.KmsNetworkError(code, exc.get_error_msg())
    return errors.KmsError(code, exc.get_error_msg())


def masked_url(url: str) -> str:
    """The signed request line with credentials and data replaced by their length only."""
    parts = urlsplit(url)
    shown = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        shown.append(f"{key}=<{len(value)} chars>" if key in _MASKED else f"{key}={value}")
    return "POST /?" + "&".join(shown)


class RecordingSigner(Signer):
    """Wraps the real signer to remember the last signed request, masked, for teaching."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.last_url = ""

    def sign(self, region_id: str, request: Any) -> tuple[Any, Any]:
        header, url = self.inner.sign(region_id, request)
        self.last_url = masked_url(url)
        return header, url


class Transport:
    """An `AcsClient` plus the kit's retry policy; `call()` returns the decoded JSON body."""

    def __init__(self, acs_client: Any, signer: Any, retry: RetryPolicy) -> None:
        self.acs = acs_client
        self.signer = RecordingSigner(signer)
        # The SDK lets ALIYUN_ACCESS_KEY_* override an explicit credential (docs/sdk-behaviour.md, Credentials) and
        # cannot refresh chain credentials; installing our signer avoids both.
        acs_client._signer = self.signer
        self.retry = retry
        self.history: list[Attempt] = []
        self.last_response: dict[str, Any] = {}

    def call(self, request: Any) -> dict[str, Any]:
        action = request.get_action_name()

        def once() -> bytes:
            try:
                return self.acs.do_action_with_exception(request)
            except (ServerException, ClientException) as exc:
                raise translate(exc, action) from exc

        body = self.retry.run(action, once, self.history)
        try:
            self.last_response = json.loads(body)
        except ValueError as exc:
            raise errors.KmsError(
                "Kit.UnexpectedResponse",
                f"{action} answered HTTP 200 with a body that is not JSON ({len(body)} bytes).",
                hint="Check that the endpoint connect() reports is a KMS endpoint.",
            ) from exc
        return self.last_response
