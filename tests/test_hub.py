"""A room on one hub (`make test-hub`): JupyterHub with two throwaway learners, each on their own emulator.

The room tests (names with `room`) need root: they create system users. They build the kit the way
docs/hub.md installs it (a copy of the kit, readable by every user, `make hub-env` with a Python
learners can run), start `python -m helpers hub` on loopback, log both learners in over HTTP,
start their servers with the instructor's API token, run notebooks 01-04 in each learner's server
through that server's REST and websocket API, then try every route from learner B to learner A's
keys. Everything is stopped and the users removed at the end. The other tests run as anyone.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pytest

from helpers.commands import hub as hubcmd
from helpers.hub import singleuser

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ["01_create_key.ipynb", "02_create_alias.ipynb", "03_encrypt_private_key.ipynb", "04_decrypt_private_key.ipynb"]
CONTEXT = {"purpose": "tls-private-key", "host": "localhost"}
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---- what runs as anyone ---------------------------------------------------------------------------

def test_names_file_takes_login_names_and_refuses_the_rest(tmp_path):
    names = tmp_path / "names.txt"
    names.write_text("# room 2\nada\n\nbob_2  # late\n")
    assert hubcmd.read_names(names) == ["ada", "bob_2"]
    for bad in ("root\n", "Ada\n", "a b\n", "ada\nada\n", "../x\n", "# nobody\n"):
        names.write_text(bad)
        with pytest.raises(hubcmd.HubError):
            hubcmd.read_names(names)


def test_singleuser_copies_the_notebooks_once_and_keeps_the_learners_edits(tmp_path):
    source = tmp_path / "kit"
    (source / "work").mkdir(parents=True)
    (source / "01.ipynb").write_text("{}")
    (source / "work" / "key.pem.cipher").write_text("someone else's")
    target = singleuser.copy_notebooks(tmp_path, source)
    assert (target / "01.ipynb").read_text() == "{}" and not (target / "work").exists()
    assert target.stat().st_mode & 0o777 == 0o700
    (target / "01.ipynb").write_text("edited")
    assert singleuser.copy_notebooks(tmp_path, source) == target and (target / "01.ipynb").read_text() == "edited"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".kms-workshop-")] == []


def test_singleuser_environment_drops_other_emulators_and_cloud_credentials():
    env = singleuser.environment({"KMS_WORKSHOP_ENDPOINT": "http://10.0.0.1:8080", "KMS_WORKSHOP_ACCESS_KEY_ID": "x",
                                  "KMS_WORKSHOP_ACCESS_KEY_SECRET": "y", "KMS_WORKSHOP_STATE": "/tmp/s",
                                  "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "z", "KMS_WORKSHOP_BACKEND": "cloud", "LANG": "C"})
    assert env == {"KMS_WORKSHOP_BACKEND": "emulator", "LANG": "C"}
    cmd = singleuser.command(Path("/home/ada/kms-workshop"), ["--port=5000"])
    assert cmd[1:3] == ["-m", "jupyterhub.singleuser"] and "--ServerApp.root_dir=/home/ada/kms-workshop" in cmd
    assert cmd[-1] == "--port=5000" and "--LabApp.news_url=None" in cmd


def test_hub_config_keeps_everything_on_loopback_and_learners_on_their_own_emulator(tmp_path, monkeypatch):
    from traitlets.config.loader import PyFileConfigLoader

    (tmp_path / "names.txt").write_text("ada\nbob\n")
    (tmp_path / "api-token").write_text("t" * 64 + "\n")
    for key, value in {"KMS_HUB_KIT": str(ROOT), "KMS_HUB_STATE": str(tmp_path), "KMS_HUB_PYTHON": "/opt/kit/.venv/bin/python",
                       "KMS_HUB_USERS": str(tmp_path / "names.txt")}.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("KMS_HUB_IP", raising=False)
    c = PyFileConfigLoader("jupyterhub_config.py", str(ROOT / "hub")).load_config()
    assert c.JupyterHub.bind_url == "http://127.0.0.1:8000" and c.JupyterHub.hub_bind_url.startswith("http://127.0.0.1:")
    assert c.ConfigurableHTTPProxy.api_url.startswith("http://127.0.0.1:")
    assert c.JupyterHub.authenticator_class == "pam" and c.Authenticator.allowed_users == {"ada", "bob"}
    assert c.Spawner.cmd == ["/opt/kit/.venv/bin/python", "-m", "helpers.hub.singleuser"]
    assert c.Spawner.env_keep == ["LANG", "LC_ALL"] and c.Spawner.environment["KMS_WORKSHOP_BACKEND"] == "emulator"
    assert c.JupyterHub.cookie_secret_file == str(tmp_path / "jupyterhub_cookie_secret")
    assert c.JupyterHub.services[0]["api_token"] == "t" * 64
    assert c.ConfigurableHTTPProxy.command == [str(ROOT / "hub" / "node_modules" / ".bin" / "configurable-http-proxy")]


def test_hub_secrets_are_made_once_private_and_read_back(tmp_path):
    state = tmp_path / "state"
    hubcmd.statefile.make_private_folder(state)
    first = hubcmd.secret_file(state, "proxy-token")
    assert len(first) == 64 and hubcmd.secret_file(state, "proxy-token") == first
    assert (state / "proxy-token").stat().st_mode & 0o777 == 0o600 and state.stat().st_mode & 0o777 == 0o700


def test_proxy_is_pinned_by_the_projects_own_lock():
    package = json.loads((ROOT / "hub" / "package.json").read_text())
    lock = json.loads((ROOT / "hub" / "package-lock.json").read_text())
    pinned = package["dependencies"]["configurable-http-proxy"]
    assert pinned[0].isdigit() and lock["packages"]["node_modules/configurable-http-proxy"]["version"] == pinned


# ---- the room: root only -----------------------------------------------------------------------------

def learner_python(dest: Path) -> Path:
    """A Python every user can run. This machine's lives under /root (0700), so it is copied, with
    its library path made relative; on a VM set up as docs/hub.md says, the system one is used."""
    base = Path(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))
    if all(os.stat(p).st_mode & 0o001 for p in base.parents):
        return base
    prefix = base.parents[1]
    shutil.copytree(prefix / "bin", dest / "bin", symlinks=True, ignore=lambda d, n: [x for x in n if not x.startswith("python3")])
    shutil.copytree(prefix / "lib", dest / "lib", symlinks=True,
                    ignore=shutil.ignore_patterns("site-packages", "test", "idle_test", "tkinter", "turtledemo", "pkgconfig"))  # fmt: skip
    binary = dest / "bin" / base.name
    data, old = binary.read_bytes(), str(prefix / "lib").encode() + b"\0"
    if old in data:  # RUNPATH /root/.pyenv/.../lib -> $ORIGIN/../lib (shorter, NUL-padded in place)
        new = b"$ORIGIN/../lib\0"
        binary.write_bytes(data.replace(old, new + b"\0" * (len(old) - len(new))))
    return binary


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    assert out.returncode == 0, f"{cmd}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


@dataclass
class Room:
    base: str
    port: int
    kit: Path
    python: Path
    state: Path
    names: list[str]
    passwords: dict[str, str]
    token: str
    hub: subprocess.Popen
    log: Path
    proxy_api_port: int
    learner_tokens: dict[str, str] = field(default_factory=dict)
    results: dict[str, list[str]] = field(default_factory=dict)

    def api(self, method: str, path: str, **kw):
        import requests

        return requests.request(method, f"{self.base}/hub/api{path}", headers={"Authorization": f"token {self.token}"},
                                timeout=60, **kw)  # fmt: skip


def wait_until(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise TimeoutError(what)


def hub_up(room_base: str, hub: subprocess.Popen) -> bool:
    import requests

    assert hub.poll() is None, "the hub exited"
    try:
        return requests.get(f"{room_base}/hub/api", timeout=2).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture(scope="module")
def room():
    assert IS_ROOT, "the room tests create system users: run them as root (make test-hub prints what it skips)"
    tag = secrets.token_hex(2)
    with open_room([f"kmsw-ada-{tag}", f"kmsw-bob-{tag}"]) as the_room:
        yield the_room


@contextlib.contextmanager
def open_room(names: list[str]):
    """The kit installed as docs/hub.md says, these learners added, the hub started; all undone after."""
    shared = Path(tempfile.mkdtemp(prefix="kms-hub-test-", dir="/tmp"))
    os.chmod(shared, 0o755)
    hub, the_room = None, None
    try:
        python = learner_python(shared / "python")
        kit = shared / "kit"
        shutil.copytree(ROOT, kit, ignore=shutil.ignore_patterns(".git", ".venv", "__pycache__", ".mypy_cache", ".kms-workshop",
                                                                   "work", "wheelhouse", ".hypothesis", "node_modules", ".hub-state"))  # fmt: skip
        env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"}  # uv from the dev venv
        run(["make", "--no-print-directory", "-C", str(kit), "hub-env", f"PY={python}"], env=env)
        kit_python = kit / ".venv" / "bin" / "python"
        state = shared / "state"
        (shared / "names.txt").write_text("\n".join(names) + "\n")
        # cwd=kit: `python -m helpers` imports from the working directory first, and the kit
        # under test is the copy (with its own hub/node_modules), not this checkout
        run([str(kit_python), "-m", "helpers", "hub", "--state", str(state), "add-users", str(shared / "names.txt")],
            cwd=kit)
        passwords = dict(line.split(" ", 1) for line in (state / "passwords.txt").read_text().splitlines())
        port, proxy_api = free_port(), free_port()
        log = shared / "hub.log"
        with open(log, "w") as out:
            hub = subprocess.Popen([str(kit_python), "-m", "helpers", "hub", "--state", str(state), "--port", str(port), "start",
                                    "--users", str(shared / "names.txt"), "--hub-port", str(free_port()),
                                    "--proxy-api-port", str(proxy_api)], stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True, cwd=kit)  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: hub_up(base, hub), 90, "the hub did not answer /hub/api")
        the_room = Room(base, port, kit, kit_python, state, names, passwords, (state / "api-token").read_text().strip(),
                        hub, log, proxy_api)  # fmt: skip
        yield the_room
    finally:
        if the_room is not None:
            for name in names:
                try:
                    the_room.api("DELETE", f"/users/{name}/server")
                except Exception:  # noqa: BLE001 (teardown goes on)
                    pass
        if hub is not None:
            os.killpg(hub.pid, signal.SIGTERM)
            try:
                hub.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(hub.pid, signal.SIGKILL)
        if (shared / "names.txt").exists() and (shared / "kit" / ".venv" / "bin" / "python").exists():
            subprocess.run([str(shared / "kit" / ".venv" / "bin" / "python"), "-m", "helpers", "hub", "--state", str(shared / "state"),
                            "remove-users", str(shared / "names.txt")], capture_output=True, timeout=120, cwd=shared / "kit")  # fmt: skip
        left = []
        for name in names:  # whatever happened above, no throwaway user outlives the test
            try:
                pwd.getpwnam(name)
                left.append(name)
                subprocess.run(["userdel", "--remove", "--force", name], capture_output=True)
            except KeyError:
                pass
        shutil.rmtree(shared, ignore_errors=True)
        assert not left, f"hub remove-users left these accounts: {left}"
        assert not any(Path("/home", n).exists() for n in names)


def login(room: Room, name: str, password: str):
    import requests

    s = requests.Session()
    s.get(f"{room.base}/hub/login", timeout=30)
    r = s.post(f"{room.base}/hub/login", data={"username": name, "password": password, "_xsrf": s.cookies.get("_xsrf", "")},
               allow_redirects=False, timeout=60)  # fmt: skip
    return s, r


def execute(room: Room, user: str, token: str, path: str, cells: list[tuple[str, bool]], keep: bool = False) -> tuple[list[str], list[str]]:
    """Run `cells` (source, raises-exception?) in a new kernel of `user`'s server, through its REST and
    websocket API; returns (problems, stdout of each cell)."""
    import requests
    import websocket

    s = requests.Session()
    s.headers["Authorization"] = f"token {token}"
    api = f"{room.base}/user/{user}/api"
    r = s.post(f"{api}/sessions", json={"path": path, "name": path, "type": "notebook", "kernel": {"name": "python3"}}, timeout=60)
    assert r.status_code == 201, r.text
    session, kernel = r.json()["id"], r.json()["kernel"]["id"]
    ws = websocket.create_connection(f"ws://127.0.0.1:{room.port}/user/{user}/api/kernels/{kernel}/channels",
                                     header=[f"Authorization: token {token}"], timeout=180)  # fmt: skip
    problems, stdout, client = [], [], uuid.uuid4().hex
    try:
        for index, (source, raises) in enumerate(cells):
            msg_id = uuid.uuid4().hex
            header = {"msg_id": msg_id, "msg_type": "execute_request", "username": user, "session": client, "version": "5.3",
                      "date": datetime.now(timezone.utc).isoformat()}  # fmt: skip
            ws.send(json.dumps({"header": header, "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                                "content": {"code": source, "silent": False, "store_history": True, "user_expressions": {},
                                            "allow_stdin": False, "stop_on_error": False}}))  # fmt: skip
            error, idle, replied, text = None, False, False, []
            while not (idle and replied):
                frame = ws.recv()
                if isinstance(frame, bytes):
                    continue  # binary frames carry buffers (widgets); none of these cells needs them
                msg = json.loads(frame)
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = msg["msg_type"], msg["content"]
                if kind == "error":
                    error = f"{content['ename']}: {content['evalue']}"[:300]
                elif kind == "stream" and content.get("name") == "stdout":
                    text.append(content["text"])
                elif kind == "status" and content["execution_state"] == "idle":
                    idle = True
                elif kind == "execute_reply":
                    replied = True
            stdout.append("".join(text))
            if bool(error) != raises:
                problems.append(f"{path} cell {index}: " + (error or "expected an error, none raised"))
    finally:
        ws.close()
        if not keep:
            s.delete(f"{api}/sessions/{session}", timeout=60)
    return problems, stdout


def notebook_cells(room: Room, user: str, token: str, name: str) -> list[tuple[str, bool]]:
    import requests

    r = requests.get(f"{room.base}/user/{user}/api/contents/{name}", headers={"Authorization": f"token {token}"}, timeout=60)
    assert r.status_code == 200, r.text  # the learner's own copy, in their home
    return [("".join(c["source"]), "raises-exception" in c.get("metadata", {}).get("tags", []))
            for c in r.json()["content"]["cells"] if c["cell_type"] == "code"]  # fmt: skip


def test_room_learners_log_in_start_servers_and_run_notebooks_01_to_04(room):
    import requests

    for name in room.names:
        _, r = login(room, name, room.passwords[name])
        assert r.status_code == 302, f"{name} could not log in: {r.status_code}"
    a, b = room.names
    assert login(room, a, room.passwords[b])[1].status_code != 302  # B's password does not open A's account
    assert login(room, a, "wrong-" + room.passwords[a])[1].status_code != 302
    started = time.monotonic()
    for name in room.names:
        assert room.api("POST", f"/users/{name}/server").status_code in (201, 202)
    for name in room.names:
        wait_until(lambda n=name: room.api("GET", f"/users/{n}").json()["servers"].get("", {}).get("ready"), 180,
                   f"{name}'s server did not become ready")  # fmt: skip
    print(f"\nboth servers ready {time.monotonic() - started:.1f} s after the API call")
    for name in room.names:
        r = room.api("POST", f"/users/{name}/tokens", json={"scopes": [f"access:servers!user={name}"], "note": "test-hub"})
        assert r.status_code == 201, r.text
        room.learner_tokens[name] = r.json()["token"]

    def learner(name: str) -> None:
        token, problems = room.learner_tokens[name], []
        for nb in NOTEBOOKS:
            problems += execute(room, name, token, nb, notebook_cells(room, name, token, nb))[0]
        room.results[name] = problems

    threads = [threading.Thread(target=learner, args=(n,)) for n in room.names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert set(room.results) == set(room.names), f"a learner's run did not finish; hub log: {room.log.read_text()[-3000:]}"
    assert room.results == {n: [] for n in room.names}
    for name in room.names:  # the outputs and the emulator are in the learner's home, and theirs
        home = Path(pwd.getpwnam(name).pw_dir)
        assert (home / "kms-workshop" / "work" / "key.pem.cipher").stat().st_uid == pwd.getpwnam(name).pw_uid
        assert (home / ".kms-workshop" / "emulator.sqlite-accesskey").stat().st_mode & 0o777 == 0o600
        assert home.stat().st_mode & 0o777 == 0o700
    assert requests.get(f"{room.base}/hub/api/users", timeout=30).status_code == 403  # no anonymous admin


PROBE = r"""
import json, os, sys
cfg = json.load(sys.stdin)
out = {}
for label, path in cfg["paths"].items():
    try:
        open(path, "rb").read(1); out[label] = "READ"
    except PermissionError:
        out[label] = "denied"
    except OSError as exc:
        out[label] = type(exc).__name__
try:
    os.listdir(cfg["home"]); out["home"] = "LISTED"
except PermissionError:
    out["home"] = "denied"
import helpers
from helpers.errors import KmsError
from helpers.retry import RetryPolicy
def attempt(endpoint, pair):
    if pair:
        os.environ["KMS_WORKSHOP_ACCESS_KEY_ID"], os.environ["KMS_WORKSHOP_ACCESS_KEY_SECRET"] = pair
    kms = helpers.connect("emulator", endpoint=endpoint, retry=RetryPolicy(max_attempts=1)) if endpoint else helpers.connect("emulator")
    res = {}
    calls = {"list": lambda: [k["KeyId"] for k in kms.iter_keys()], "describe": lambda: kms.describe_key(cfg["key_id"]).key_id,
             "decrypt": lambda: len(kms.decrypt(cfg["blob"], cfg["context"]).plaintext)}
    for name, call in calls.items():
        try:
            res[name] = call()
        except KmsError as exc:
            res[name] = exc.code
    return res
mine = json.load(open(os.path.expanduser("~/.kms-workshop/emulator.sqlite-accesskey")))
out["a_emulator_with_b_pair"] = attempt(cfg["endpoint"], (mine["AccessKeyId"], mine["AccessKeySecret"]))
out["a_emulator_with_test_pair"] = attempt(cfg["endpoint"], ("testid", "testsecret"))
out["b_own_emulator"] = attempt(None, None)
print(json.dumps(out))
"""


def test_room_learner_b_cannot_reach_learner_a_keys_by_any_route(room):
    import requests

    if not room.learner_tokens:
        pytest.fail("the previous test did not start the learners' servers")
    a, b = room.names
    home_a = Path(pwd.getpwnam(a).pw_dir)
    # A's kernel stays up, so A's emulator listens: learner B tries it directly.
    where = ("import json, helpers\nkms = helpers.connect()\nalias = helpers.workshop.alias(kms, 'Apollo/WorkKey')\n"
             "print(json.dumps({'endpoint': kms.connection.endpoint, 'key_id': kms.describe_key(alias).key_id}))")  # fmt: skip
    problems, out = execute(room, a, room.learner_tokens[a], "01_create_key.ipynb", [(where, False)], keep=True)
    assert problems == []
    found = json.loads(out[0])
    blob = (home_a / "kms-workshop" / "work" / "key.pem.cipher").read_text()  # root reads it; B will try to use it
    runtime = sorted((home_a / ".local" / "share" / "jupyter" / "runtime").glob("kernel-*.json"))
    assert runtime, "A's kernel connection files were not where expected"
    paths = {"state": home_a / ".kms-workshop" / "emulator.sqlite", "pair": home_a / ".kms-workshop" / "emulator.sqlite-accesskey",
             "cipher": home_a / "kms-workshop" / "work" / "key.pem.cipher", "notebook": home_a / "kms-workshop" / "03_encrypt_private_key.ipynb",
             "kernel_connection_file": runtime[0]}  # fmt: skip
    cfg = {"paths": {k: str(v) for k, v in paths.items()}, "home": str(home_a), "endpoint": found["endpoint"],
           "key_id": found["key_id"], "blob": blob, "context": CONTEXT}  # fmt: skip
    probe = hubcmd.as_learner(b, [str(room.python), "-c", PROBE], input=json.dumps(cfg))
    assert probe.returncode == 0, probe.stderr[-3000:]
    seen = json.loads(probe.stdout.strip().splitlines()[-1])
    assert {k: seen[k] for k in [*paths, "home"]} == {k: "denied" for k in [*paths, "home"]}
    refused = {"list": "InvalidAccessKeyId.NotFound", "describe": "InvalidAccessKeyId.NotFound", "decrypt": "InvalidAccessKeyId.NotFound"}
    assert seen["a_emulator_with_b_pair"] == refused
    assert seen["a_emulator_with_test_pair"] == refused
    own = seen["b_own_emulator"]
    assert found["key_id"] not in own["list"] and own["describe"] == "Forbidden.KeyNotFound"
    assert isinstance(own["decrypt"], str) and own["decrypt"].startswith(("Forbidden.KeyNotFound", "InvalidCiphertext"))
    # Through the hub: B's token and B's login cookie do not open A's server; nor does B's token at A's port.
    token_b = room.learner_tokens[b]
    assert requests.get(f"{room.base}/user/{a}/api/contents", headers={"Authorization": f"token {token_b}"}, timeout=30).status_code == 403
    session_b, _ = login(room, b, room.passwords[b])
    r = session_b.get(f"{room.base}/user/{a}/api/contents", timeout=60)
    assert r.status_code in (403, 404) or f"/user/{a}/" not in r.url, (r.status_code, r.url)
    routes = requests.get(f"http://127.0.0.1:{room.proxy_api_port}/api/routes",
                          headers={"Authorization": f"token {(room.state / 'proxy-token').read_text().strip()}"}, timeout=30).json()  # fmt: skip
    target = next(r["target"] for path, r in routes.items() if path.rstrip("/") == f"/user/{a}")
    assert target.startswith("http://127.0.0.1:")
    assert requests.get(f"{target}/user/{a}/api/contents", headers={"Authorization": f"token {token_b}"}, timeout=30).status_code == 403


def test_room_keeps_its_secrets_private_and_everything_on_loopback(room):
    import psutil

    for name in hubcmd.SECRETS + (hubcmd.PASSWORDS,):
        assert (room.state / name).stat().st_mode & 0o777 == 0o600
    assert room.state.stat().st_mode & 0o777 == 0o700
    log = room.log.read_text()
    for name in hubcmd.SECRETS:
        assert (room.state / name).read_text().strip() not in log, f"{name} appears in the hub's output"
    assert not any(p in log for p in room.passwords.values())
    hub = psutil.Process(room.hub.pid)
    listening = {(c.laddr.ip, c.laddr.port) for p in [hub, *hub.children(recursive=True)]
                 for c in p.net_connections("inet") if c.status == psutil.CONN_LISTEN}  # fmt: skip
    assert listening and {ip for ip, _ in listening} == {"127.0.0.1"}, listening
    uids = {pwd.getpwnam(n).pw_uid for n in room.names}
    assert uids <= {p.uids().real for p in hub.children(recursive=True)}  # the servers run as the learners
