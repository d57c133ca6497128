"""The emulator put together: state, backend, authentication, gateway and HTTP server, started and
stopped as one ``Emulator`` (``with Emulator() as emu: ... emu.endpoint``)."""

from __future__ import annotations

import secrets
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import TracebackType

from . import access_keys, models
from .auth import DEFAULT_ACCOUNTS, Account, Authenticator
from .backend import KmsBackend
from .entropy import OS, Entropy
from .faults import Faults
from .gateway import Gateway
from .server import HttpServer
from .store import Store


#: the instant a seeded (recording) emulator's data clock shows
RECORDING_TIME = datetime(2026, 1, 5, 9, 0, 0, tzinfo=timezone.utc)


class Emulator:
    """A local Alibaba Cloud KMS endpoint; ``with Emulator() as emu: ... emu.endpoint``."""

    def __init__(self, state_path: str | Path | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 tls: bool = False, accounts: Sequence[Account] | None = None, region: str = "cn-hangzhou",
                 clock: Callable[[], datetime] | None = None, qps_limit: int | str | None = None,
                 unavailable_every: int | None = None, seed: int | None = None) -> None:  # fmt: skip
        """`seed` makes a run reproducible, for recordings only: ids, key material, IVs and data keys
        come from a generator seeded with it (see entropy.py), and the dates the emulator writes
        (CreationDate, DeleteDate) stand still at RECORDING_TIME. Signatures are still checked
        against the real clock, which the client's Timestamp follows.

        `accounts` is the AccessKey table. Without it, an emulator on a state file accepts only
        that file's own pair (access_keys.py, read or made at start()), so that other local users,
        who can reach the loopback port too, cannot use the learner's keys. In memory, or seeded,
        it accepts the documented test pairs (DEFAULT_ACCOUNTS): tests and recordings need them,
        and a seeded emulator's key material follows from its seed, so it has nothing private."""
        if accounts is not None and not list(accounts):
            raise ValueError("at least one account is needed")
        self._own_pair = accounts is None and state_path is not None and seed is None
        self.accounts: list[Account] = [] if self._own_pair else list(accounts or DEFAULT_ACCOUNTS)
        self.host, self.port, self.tls, self.region = host, port, tls, region
        self.clock = clock or models.utc_now
        self.entropy = Entropy(seed) if seed is not None else OS
        self._data_base: Callable[[], datetime] = (lambda: RECORDING_TIME) if seed is not None else self.clock
        self._data_offset = timedelta(0)
        self.state_path = state_path
        self.faults = Faults(qps_limit, unavailable_every)
        #: authorises POST /-/faults from other processes (``serve`` prints it); never the AccessKey
        self.control_token = secrets.token_urlsafe(24)
        self.sni_seen: list[str] = []
        self.ca_bundle: str | None = None
        self._server: HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._store: Store | None = None
        self._tmp: str | None = None

    def data_clock(self) -> datetime:
        """The time of key dates, deletion windows and automatic rotation (see advance_clock)."""
        return self._data_base() + self._data_offset

    def advance_clock(self, delta: timedelta) -> datetime:
        """Move the emulator's data clock forward (e.g. past a rotation interval), not its signature
        clock: SDK requests keep their real Timestamp. Emulator-only; returns the new data time."""
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        self._data_offset += delta
        return self.data_clock()

    @property
    def access_key_id(self) -> str:
        return self._first_account().access_key_id

    @property
    def access_key_secret(self) -> str:
        return self._first_account().access_key_secret

    @property
    def access_key_file(self) -> Path | None:
        """Where the state file's own pair is kept, if this emulator uses one."""
        return access_keys.pair_file(self.state_path) if self._own_pair and self.state_path is not None else None

    def _first_account(self) -> Account:
        if not self.accounts:
            raise RuntimeError("the state file's AccessKey pair is read when the emulator starts; call start() first")
        return self.accounts[0]

    @property
    def endpoint(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() first")
        address, port = self._server.server_address[:2]
        host = address.decode() if isinstance(address, bytes) else str(address)
        host = f"[{host}]" if ":" in host else host
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    def start(self) -> Emulator:
        if self._server is not None:
            return self
        self._store = Store(self.state_path)
        try:
            if self._own_pair and self.state_path is not None:
                self.accounts = [access_keys.for_state(self.state_path)]
        except BaseException:
            self._store.close()
            self._store = None
            raise
        backend = KmsBackend(self._store, self.data_clock, self.entropy)
        gateway = Gateway(backend, Authenticator(self.accounts, self.clock), self.faults, self.region,
                          control_token=self.control_token, allowed_hosts=frozenset({self.host}))  # fmt: skip
        context = None
        if self.tls:
            from .tls import server_context  # the x509 code is loaded only in TLS mode

            self._tmp = tempfile.mkdtemp(prefix="kms-emulator-")  # 0700
            context, bundle = server_context(Path(self._tmp), self.sni_seen.append)
            self.ca_bundle = str(bundle)
        self._server = HttpServer((self.host, self.port), gateway, context)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="kms-emulator", daemon=True)  # fmt: skip
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.close_connections()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._store is not None:
            self._store.close()
            self._store = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp, self.ca_bundle = None, None

    def configure_faults(self, *, qps_limit: int | str | None = ..., unavailable_next: int | None = None,  # type: ignore[assignment]
                         unavailable_every: int | None = ...) -> dict[str, int | None]:  # type: ignore[assignment]
        """Runtime toggles; ``unavailable_next=N`` answers the next N requests with 503."""
        return self.faults.configure(qps_limit=qps_limit, unavailable_next=unavailable_next,
                                     unavailable_every=unavailable_every)  # fmt: skip

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
