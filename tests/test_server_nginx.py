"""docs/server.md's recipe with Debian's real nginx: the key decrypted at start-up, served, removed.

What runs: the committed drop-in `deploy/server/nginx.service.d/kms-key.conf`, merged over Debian's
packaged `/lib/systemd/system/nginx.service` the way systemd merges them (an empty assignment
clears an Exec list, others add to it), its helper `deploy/server/nginx-kms-key`, and the site
`deploy/server/kms-workshop-site.conf`, with the real `/usr/sbin/nginx`, as root, on loopback.

What does not: systemd itself. It is not PID 1 in the container, so the test runs the unit's
commands in the order systemd would (RuntimeDirectory= made, ExecStartPre=, ExecStart= and the
PIDFile=, ExecStartPost=; ExecReload= with MAINPID; ExecStop=, ExecStopPost=, RuntimeDirectory=
removed; ExecStopPost= and the removal also after a failed start) with systemd's minimal
environment. `systemd-analyze verify` checks the files' syntax offline.

Moved for the test, and nothing else: the helper's install path (the repository's copy), the
nginx prefix, configuration, error log and PID file (`-p`/`-c`/`-e`; `daemon on` as in the packaged
unit, so ExecStart returns once the master has loaded the key, which is what ExecStartPost
relies on), the site's listen address (127.0.0.1 and a free port), the certificate path
(notebooks/certs), the runtime directory (a fresh folder under /dev/shm, checked to be tmpfs in
/proc/mounts, standing in for /run), and the KMS settings (the emulator instead of the cloud
backend and the instance RAM role).
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

import helpers
from tests.fixtures_kms import emulator  # noqa: F401 (pytest fixture)

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy" / "server"
DROP_IN = DEPLOY / "nginx.service.d" / "kms-key.conf"
SITE = DEPLOY / "kms-workshop-site.conf"
HELPER = DEPLOY / "nginx-kms-key"
PACKAGED_UNIT = Path("/lib/systemd/system/nginx.service")
NGINX = "/usr/sbin/nginx"
CERTS = REPO / "notebooks" / "certs"
KIT = REPO / ".venv" / "bin" / "kms-workshop"
#: what systemd gives a system service (systemd.exec(5), "Environment variables in spawned processes")
SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LISTS = ("ExecStartPre", "ExecStart", "ExecStartPost", "ExecReload", "ExecStop", "ExecStopPost", "Environment")

pytestmark = [
    pytest.mark.server,
    pytest.mark.skipif(not (os.access(NGINX, os.X_OK) and PACKAGED_UNIT.is_file()),
                       reason="needs Debian's nginx: sudo apt-get install nginx (make test-server says so)"),
    pytest.mark.skipif(os.geteuid() != 0, reason="nginx.service runs as root: run as root (CI does)"),
]  # fmt: skip


# --- the unit, read as systemd reads it --------------------------------------------------------
def read_service(*paths: Path) -> dict[str, list[str]]:
    """The [Service] settings of a unit and its drop-ins, in order, merged as systemd merges them."""
    merged: dict[str, list[str]] = {}
    for path in paths:
        section = ""
        for raw in path.read_text(encoding="utf-8").replace("\\\n", " ").splitlines():
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line
                continue
            if section != "[Service]":
                continue
            name, _, value = (part.strip() for part in line.partition("="))
            if name in LISTS:
                merged[name] = [*merged.get(name, []), value] if value else []
            else:
                merged[name] = [value]
    return merged


def environment(settings: dict[str, list[str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for value in settings.get("Environment", []):
        for word in shlex.split(value):
            name, _, val = word.partition("=")
            env[name] = val
    return env


@dataclass
class Command:
    argv: list[str]
    ignore_failure: bool  # the "-" prefix


def commands(settings: dict[str, list[str]], name: str, moved: Callable[[list[str]], list[str]]) -> list[Command]:
    out = []
    for value in settings.get(name, []):
        ignore = value.startswith("-")
        value = value.removeprefix("-")
        assert value[:1] not in "@+!:" and "$" not in value and "%" not in value, (
            f"{name}={value}: this runner does not emulate systemd's prefixes, variables or specifiers")
        out.append(Command(moved(shlex.split(value)), ignore))
    return out


# --- the files the test moves ------------------------------------------------------------------
def is_tmpfs(path: Path) -> bool:
    """By the longest mount point in /proc/mounts that holds `path` (not the kit's own check)."""
    target, best, kind = os.path.realpath(path), "", ""
    for line in Path("/proc/mounts").read_text().splitlines():
        point, fstype = line.split()[1].replace("\\040", " "), line.split()[2]
        if (target == point or target.startswith(point.rstrip("/") + "/")) and len(point) >= len(best):
            best, kind = point, fstype
    return kind == "tmpfs"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """One nginx.service on the test's paths: start, reload, stop as systemd would run them."""

    prefix: Path
    runtime_root: Path
    env: dict[str, str]
    settings: dict[str, list[str]]
    port: int = field(default_factory=free_port)
    main_pid: int | None = None
    log: list[str] = field(default_factory=list)

    @property
    def runtime_dir(self) -> Path:
        return self.runtime_root / self.settings["RuntimeDirectory"][0]

    @property
    def key(self) -> Path:
        return self.runtime_dir / "server.key"

    @property
    def pid_file(self) -> Path:
        return self.prefix / "nginx.pid"

    @property
    def error_log(self) -> Path:
        return self.prefix / "error.log"

    def moved(self, argv: list[str]) -> list[str]:
        argv = [{"/usr/local/sbin/nginx-kms-key": str(HELPER), "/run/nginx.pid": str(self.pid_file)}.get(a, a)
                for a in argv]  # fmt: skip
        if NGINX in argv:  # the command itself, or the helper's argument (ExecReload)
            at = argv.index(NGINX) + 1
            argv[at:at] = ["-p", f"{self.prefix}/", "-c", str(self.prefix / "nginx.conf"), "-e", str(self.error_log)]
        return argv

    def write_config(self, body_marker: str = "") -> None:
        site = SITE.read_text(encoding="utf-8")
        for old, new in ((f"/run/{self.settings['RuntimeDirectory'][0]}/server.key", str(self.key)),
                         ("/etc/nginx/kms/server.crt", str(CERTS / "server.crt")),
                         ("listen 443 ssl;", f"listen 127.0.0.1:{self.port} ssl;"),
                         ("listen [::]:443 ssl;", ""), ("by KMS\\n", f"by KMS{body_marker}\\n")):  # fmt: skip
            assert old in site, f"{SITE.name} no longer has {old!r}: update this test with it"
            site = site.replace(old, new)
        (self.prefix / "site.conf").write_text(site, encoding="utf-8")
        p = self.prefix  # Debian's /etc/nginx/nginx.conf, reduced to what the test needs, all in the prefix
        (p / "nginx.conf").write_text(f"""pid {self.pid_file};
error_log {self.error_log} notice;
worker_processes 1;
events {{ worker_connections 64; }}
http {{
    access_log {p}/access.log;
    client_body_temp_path {p}/body; proxy_temp_path {p}/proxy; fastcgi_temp_path {p}/fastcgi;
    uwsgi_temp_path {p}/uwsgi; scgi_temp_path {p}/scgi;
    include {p}/site.conf;
}}
""", encoding="utf-8")

    def run(self, name: str, **extra: str) -> int:
        """Run the unit's `name` commands in order; stop at the first failure, as systemd does."""
        for cmd in commands(self.settings, name, self.moved):
            env = {**self.env, "RUNTIME_DIRECTORY": str(self.runtime_dir), **extra}
            out = self.prefix / "step.out"
            # Files, not pipes: a daemonising nginx would keep a pipe open and block the read.
            with open(out, "wb") as sink:
                code = subprocess.run(cmd.argv, stdin=subprocess.DEVNULL, stdout=sink, stderr=sink,
                                      env=env, timeout=120, check=False).returncode  # fmt: skip
            self.log.append(f"{name}: {shlex.join(cmd.argv)} -> {code}\n{out.read_text(errors='replace')}")
            if code and not cmd.ignore_failure:
                return code
        return 0

    def start(self, after_pre: Callable[[int], None] | None = None) -> int:
        mode = int(self.settings.get("RuntimeDirectoryMode", ["0755"])[0], 8)
        self.runtime_dir.mkdir(mode=mode)
        os.chmod(self.runtime_dir, mode)  # whatever the umask, as systemd does
        for i in range(len(self.settings["ExecStartPre"])):
            code = self.run_one("ExecStartPre", i)
            if code:
                return self.failed(code)
            if after_pre:
                after_pre(i)
        code = self.run("ExecStart")
        if code:
            return self.failed(code)
        assert self.settings["Type"] == ["forking"] and self.settings["PIDFile"] == ["/run/nginx.pid"]
        # Type=forking: MAINPID from PIDFile=. nginx writes it after the fork, so it may appear a
        # moment after ExecStart returned; systemd waits for it too.
        wait_for(lambda: self.pid_file.is_file() and self.pid_file.read_text().strip() != "", "the PID file")
        self.main_pid = int(self.pid_file.read_text())
        # Not systemd's: the test compares worker PIDs before and after, so it waits for the first.
        wait_for(lambda: bool(self.workers()), "the master to fork its worker")
        code = self.run("ExecStartPost")
        if code:  # systemd stops a service whose ExecStartPost fails
            self.stop()
            return code
        return 0

    def run_one(self, name: str, index: int) -> int:
        saved = self.settings[name]
        try:
            self.settings = {**self.settings, name: [saved[index]]}
            return self.run(name)
        finally:
            self.settings = {**self.settings, name: saved}

    def failed(self, code: int) -> int:
        self.run("ExecStopPost")
        shutil.rmtree(self.runtime_dir, ignore_errors=True)
        return code

    def reload(self) -> int:
        return self.run("ExecReload", MAINPID=str(self.main_pid))

    def stop(self) -> int:
        code = self.run("ExecStop", MAINPID=str(self.main_pid))
        self.run("ExecStopPost")
        shutil.rmtree(self.runtime_dir, ignore_errors=True)  # RuntimeDirectory= goes with the service
        return code

    def workers(self) -> set[int]:
        assert self.main_pid
        return {p.pid for p in psutil.Process(self.main_pid).children()}

    def kill_everything(self) -> None:
        """Teardown after a failed assertion: no nginx outlives the test."""
        pids = [int(self.pid_file.read_text())] if self.pid_file.exists() else []
        pids += [self.main_pid] if self.main_pid else []
        for pid in set(pids):
            try:
                proc = psutil.Process(pid)
                for p in [*proc.children(recursive=True), proc]:
                    p.kill()
            except psutil.NoSuchProcess:
                pass


# --- fixtures and checks -----------------------------------------------------------------------
@pytest.fixture
def runtime_root() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="kms-workshop-run-", dir="/dev/shm"))
    try:
        assert is_tmpfs(root), f"{root} is not on tmpfs: the test needs /dev/shm to stand in for /run"
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def make_server(emulator, runtime_root, tmp_path) -> Iterator[Callable[..., Server]]:  # noqa: F811
    settings = read_service(PACKAGED_UNIT, DROP_IN)
    unit_env = environment(settings)
    context = dict(pair.split("=", 1) for pair in unit_env["KMS_KEY_CONTEXT"].split())
    cipher = tmp_path / "key.pem.cipher"
    with helpers.connect("emulator", endpoint=emulator.endpoint) as kms:
        key_id = kms.create_key(description="kms-workshop: test server key").key_id
        helpers.encrypt_file(CERTS / "server.key", cipher, key_id, encryption_context=context, kms=kms)
    made: list[Server] = []

    def make(**env_changes: str) -> Server:
        env = {"PATH": SYSTEMD_PATH, "LANG": "C.UTF-8", **unit_env,
               "KMS_WORKSHOP_BACKEND": "emulator", "KMS_WORKSHOP_ENDPOINT": emulator.endpoint,
               "KMS_WORKSHOP_ACCESS_KEY_ID": emulator.access_key_id,
               "KMS_WORKSHOP_ACCESS_KEY_SECRET": emulator.access_key_secret,
               "KMS_WORKSHOP": str(KIT), "KMS_KEY_CIPHER": str(cipher), **env_changes}  # fmt: skip
        prefix = tmp_path / f"nginx{len(made)}"
        prefix.mkdir()
        server = Server(prefix, runtime_root, env, settings)
        server.write_config()
        made.append(server)
        return server

    yield make
    for server in made:
        server.kill_everything()


def fetch(port: int, hostname: str = "localhost") -> tuple[bytes, bytes]:
    """GET / over TLS, verifying the certificate against the workshop CA for `hostname` (SNI too)."""
    ctx = ssl.create_default_context(cafile=str(CERTS / "ca.crt"))
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw, \
            ctx.wrap_socket(raw, server_hostname=hostname) as tls:
        tls.sendall(b"GET / HTTP/1.0\r\nHost: " + hostname.encode() + b"\r\n\r\n")
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
        return tls.getpeercert(binary_form=True) or b"", data


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll (nginx works asynchronously after a signal); the limit only stops a hung test."""
    for _ in range(300):
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def assert_serves(server: Server, marker: str = "") -> None:
    der, response = fetch(server.port)
    assert der == ssl.PEM_cert_to_DER_cert((CERTS / "server.crt").read_text())
    assert response.startswith(b"HTTP/1.1 200") and response.endswith(f"by KMS{marker}\n".encode()), response
    # server.crt's SAN is DNS:localhost and IP:127.0.0.1: any other name must fail verification
    with pytest.raises(ssl.SSLCertVerificationError):
        fetch(server.port, "www.example.com")


def assert_stopped(server: Server, workers: set[int]) -> None:
    for pid in {server.main_pid, *workers}:
        assert pid is not None and not psutil.pid_exists(pid), f"nginx process {pid} is still running"
    assert not server.key.exists() and not server.runtime_dir.exists()
    assert not server.pid_file.exists()


# --- the tests ---------------------------------------------------------------------------------
def test_unit_files_pass_systemd_analyze_verify(tmp_path):
    """systemd's own parser over Debian's nginx.service plus the drop-in (helper path moved to the
    repository's copy: verify checks that every command exists and is executable)."""
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing: apt-get install systemd (Debian ships it with systemd)"
    units = tmp_path / "units"
    (units / "nginx.service.d").mkdir(parents=True)
    shutil.copy(PACKAGED_UNIT, units / "nginx.service")
    text = DROP_IN.read_text(encoding="utf-8").replace("/usr/local/sbin/nginx-kms-key", str(HELPER))
    (units / "nginx.service.d" / "kms-key.conf").write_text(text, encoding="utf-8")

    def verify() -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "SYSTEMD_UNIT_PATH": f"{units}:"}  # ours first, then the usual ones
        return subprocess.run([analyze, "verify", "nginx.service"], env=env, capture_output=True,
                              text=True, timeout=120, check=False)  # fmt: skip

    clean = verify()
    assert clean.returncode == 0 and clean.stdout + clean.stderr == "", clean.stdout + clean.stderr
    # ...and it really read the drop-in: a misspelt setting there is reported by file and line.
    (units / "nginx.service.d" / "kms-key.conf").write_text(text.replace("RuntimeDirectoryMode=", "RuntimeDirMode="))
    assert "kms-key.conf" in verify().stderr


def test_start_serves_https_with_the_key_gone_then_stop_leaves_nothing(make_server):
    server = make_server()
    seen: list[int] = []

    def after_pre(step: int) -> None:
        if step == 0:  # the decrypt step: the key is there for the master to read, and only there
            st = server.key.stat()
            assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == 0
            assert stat.S_IMODE(server.runtime_dir.stat().st_mode) == 0o700
            assert is_tmpfs(server.key)
            assert server.key.read_bytes() == (CERTS / "server.key").read_bytes()
            assert os.listdir(server.runtime_dir) == ["server.key"]  # the kit's temporary name was renamed
            seen.append(step)

    assert server.start(after_pre) == 0, "".join(server.log)
    assert seen == [0]
    assert not server.key.exists() and os.listdir(server.runtime_dir) == []  # ExecStartPost removed it
    assert_serves(server)
    # Workers never need the file: one killed is forked again by the master, from memory.
    (worker,) = server.workers()
    os.kill(worker, signal.SIGKILL)
    wait_for(lambda: server.workers() - {worker}, "the master to fork a new worker")
    assert_serves(server)
    workers = server.workers()
    assert server.stop() == 0, "".join(server.log)
    assert_stopped(server, workers)


def test_reload_decrypts_again_restart_works_and_a_bare_sighup_is_refused(make_server):
    server = make_server()
    assert server.start() == 0, "".join(server.log)
    old_workers = server.workers()
    # Why the drop-in replaces Debian's ExecReload: `nginx -s reload` parses the whole
    # configuration, key included, before it signals, so with the key gone it fails...
    (cmd,) = commands(read_service(PACKAGED_UNIT), "ExecReload", server.moved)
    bare = subprocess.run(cmd.argv, capture_output=True, text=True, timeout=60, check=False)
    assert bare.returncode == 1 and "cannot load certificate key" in bare.stderr, bare.stderr
    # ...and a plain SIGHUP makes the master itself re-read the key: it refuses the new
    # configuration and keeps serving with the old one and the old workers.
    os.kill(server.main_pid, signal.SIGHUP)
    refused = f"[emerg] {server.main_pid}#{server.main_pid}: cannot load certificate key"
    wait_for(lambda: refused in server.error_log.read_text(), "the master to refuse the reload")
    assert server.workers() == old_workers
    assert_serves(server)

    # The drop-in's ExecReload: decrypt, test, SIGHUP, wait for the new workers, remove.
    server.write_config(body_marker=" (reloaded)")
    assert server.reload() == 0, "".join(server.log)
    assert not server.key.exists()
    assert server.workers() - old_workers, "ExecReload returned before the master forked new workers"
    wait_for(lambda: not server.workers() & old_workers, "the old workers to finish")
    assert_serves(server, " (reloaded)")  # the new configuration is live: it and the key were read

    # A configuration nginx -t refuses: the reload fails, the key is removed all the same, and
    # the running configuration keeps serving.
    site = server.prefix / "site.conf"
    good = site.read_text()
    site.write_text(good.replace(str(CERTS / "server.crt"), str(CERTS / "missing.crt")))
    workers = server.workers()
    assert server.reload() != 0
    assert "missing.crt" in server.log[-1], server.log[-1]  # refused by the helper's nginx -t, at once
    assert not server.key.exists() and server.workers() == workers
    assert_serves(server, " (reloaded)")
    site.write_text(good)

    # systemctl restart is stop then start: ExecStartPre decrypts again, the file being long gone.
    workers = server.workers()
    assert server.stop() == 0, "".join(server.log)
    assert_stopped(server, workers)
    assert server.start() == 0, "".join(server.log)
    assert not server.key.exists()
    assert_serves(server, " (reloaded)")
    workers = server.workers()
    assert server.stop() == 0, "".join(server.log)
    assert_stopped(server, workers)


def test_wrong_context_fails_exec_start_pre_and_nginx_never_starts(make_server):
    server = make_server(KMS_KEY_CONTEXT="purpose=tls-private-key host=another-host")
    code = server.start()
    assert code == 1, "".join(server.log)  # decrypt-key's code for a wrong EncryptionContext
    assert "ExecStartPre" in server.log[0] and "context" in server.log[0].lower(), server.log
    assert len(server.log) == 2 and server.log[1].startswith("ExecStopPost"), server.log  # nothing else ran
    assert not server.pid_file.exists() and not server.error_log.exists()  # nginx never ran, not even -t
    assert not server.runtime_dir.exists()
    assert not [p for p in psutil.process_iter(["cmdline"]) if str(server.prefix) in " ".join(p.info["cmdline"] or [])]


def test_the_ten_tea_sdk_lines_from_the_doc_decrypt_the_key(emulator, runtime_root, tmp_path):  # noqa: F811
    """docs/server.md's Tea SDK alternative, as printed, against the emulator: only the endpoint
    (the emulator's, over http), the two paths, and credentials from the environment (the same
    default chain the doc relies on, here with the emulator's pair instead of the RAM role)."""
    text = (REPO / "docs" / "server.md").read_text(encoding="utf-8")
    (snippet,) = [b for b in text.split("```python\n")[1:] for b in [b.split("```")[0]] if "DecryptRequest" in b]
    assert len([ln for ln in snippet.splitlines() if ln.strip()]) == 10, "the doc promises ten lines"
    context = dict(pair.split("=", 1) for pair in environment(read_service(DROP_IN))["KMS_KEY_CONTEXT"].split())
    assert f'context = {{"purpose": "{context["purpose"]}", "host": "{context["host"]}"}}' in snippet  # the drop-in's
    cipher, key = tmp_path / "key.pem.cipher", runtime_root / "server.key"
    with helpers.connect("emulator", endpoint=emulator.endpoint) as kms:
        key_id = kms.create_key(description="kms-workshop: test server key").key_id
        helpers.encrypt_file(CERTS / "server.key", cipher, key_id, encryption_context=context, kms=kms)
    for old, new in (('endpoint="kms.cn-hangzhou.aliyuncs.com"',
                      f'endpoint="{emulator.endpoint.split("//")[1]}", protocol="http"'),
                     ("/etc/nginx/kms/key.pem.cipher", str(cipher)), ("/run/nginx-kms/server.key", str(key))):  # fmt: skip
        assert old in snippet, f"docs/server.md's snippet no longer has {old!r}: update this test"
        snippet = snippet.replace(old, new)
    env = {"PATH": SYSTEMD_PATH, "ALIBABA_CLOUD_ACCESS_KEY_ID": emulator.access_key_id,
           "ALIBABA_CLOUD_ACCESS_KEY_SECRET": emulator.access_key_secret,
           "ALIBABA_CLOUD_CLI_PROFILE_DISABLED": "true"}  # fmt: skip
    out = subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-c", snippet], env=env, capture_output=True,
                         text=True, timeout=120, check=False)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert key.read_bytes() == (CERTS / "server.key").read_bytes()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    # O_EXCL: a second run refuses the existing file instead of writing through it
    again = subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-c", snippet], env=env, capture_output=True,
                           text=True, timeout=120, check=False)  # fmt: skip
    assert again.returncode == 1 and "FileExistsError" in again.stderr
    # The doc's warning: the context goes in as a dict; a JSON string is encoded twice and refused.
    key.unlink()
    as_json = "import json\n" + snippet.replace("encryption_context=context", "encryption_context=json.dumps(context)")
    refused = subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-c", as_json], env=env, capture_output=True,
                             text=True, timeout=120, check=False)  # fmt: skip
    assert refused.returncode == 1 and "InvalidParameter" in refused.stderr and not key.exists(), refused.stderr
