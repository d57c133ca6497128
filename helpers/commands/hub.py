"""`python -m helpers hub` (and `make hub`): JupyterHub for a room, each learner on their own emulator.

    kms-workshop hub add-users names.txt      # system users, 0700 homes, a password each (0600 file)
    kms-workshop hub --users names.txt        # the hub on http://127.0.0.1:8000 until Ctrl-C
    kms-workshop hub reset NAME               # one learner's notebooks and emulator state, afresh
    kms-workshop hub remove-users names.txt   # after the workshop: servers stopped, users removed

Runs as root: JupyterHub's LocalProcessSpawner starts each learner's server as that learner
(helpers/hub/singleuser.py). Learners log in with PAM, their own system password. The hub's own
secrets (cookie secret, proxy token, the instructor's API token) are made once and kept 0600 in the
state folder (0700); they are never printed. hub/jupyterhub_config.py reads the settings below
from the environment this command sets. docs/hub.md has the whole procedure.
"""

from __future__ import annotations

import argparse
import grp
import json
import os
import pwd
import re
import secrets
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from ..emulator import statefile
from .lab import settings_override

KIT = Path(__file__).resolve().parents[2]
CONFIG = KIT / "hub" / "jupyterhub_config.py"
PROXY = KIT / "hub" / "node_modules" / ".bin" / "configurable-http-proxy"
STATE = KIT / ".hub-state"
GROUP = "kms-learners"  # only members of this group are ever reset or removed
SECRETS = ("jupyterhub_cookie_secret", "proxy-token", "api-token")
PASSWORDS = "passwords.txt"  # pragma: allowlist secret
_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l: read aloud or from a slip


class HubError(Exception):
    """Something the instructor must fix; the message says what."""


def read_names(path: Path) -> list[str]:
    """One login name per line; blank lines and `#` comments ignored; duplicates refused."""
    names = [line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines()]
    names = [n for n in names if n]
    bad = [n for n in names if not _NAME.match(n) or n == "root"]
    if bad:
        raise HubError(f"{path}: not usable as login names: {', '.join(bad)} (lowercase letters, digits, - and _)")
    if len(set(names)) != len(names):
        raise HubError(f"{path}: a name appears twice")
    if not names:
        raise HubError(f"{path} names no learner")
    return names


def is_learner(name: str) -> bool:
    try:
        return name in grp.getgrnam(GROUP).gr_mem
    except KeyError:
        return False


def secret_file(state: Path, name: str, make: bool = True) -> str:
    """The secret in ``state/name``: made once with ``secrets`` (O_EXCL, 0600), else read."""
    path = state / name
    fd = statefile.create_new(path, "hub secret") if make else None
    if fd is None:
        fd = statefile.open_existing(path, "hub secret", write=False)
        with os.fdopen(fd, encoding="utf-8") as source:
            return source.read().strip()
    value = secrets.token_hex(32)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(value + "\n")
    return value


def add_users(names: list[str], state: Path) -> None:
    """Create the missing learners (home 0700, group kms-learners) and give each a password."""
    statefile.make_private_folder(state)
    subprocess.run(["groupadd", "-f", GROUP], check=True)
    slips = state / PASSWORDS
    fd, _ = statefile.open_private(slips, "learners' passwords")
    with os.fdopen(fd, "r+", encoding="utf-8") as book:
        known = dict(line.split(" ", 1) for line in book.read().splitlines() if " " in line)
        for name in names:
            try:
                pwd.getpwnam(name)
                if not is_learner(name):
                    raise HubError(f"{name} is an existing account that this kit did not create; choose another name")
            except KeyError:
                subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", "--user-group", "--groups", GROUP,
                                "--comment", "kms-workshop learner", "-K", "HOME_MODE=0700", name], check=True)  # fmt: skip
            os.chmod(pwd.getpwnam(name).pw_dir, 0o700)  # older useradd ignore HOME_MODE; homes are private
            if name not in known:
                known[name] = "".join(secrets.choice(_ALPHABET) for _ in range(12))
                subprocess.run(["chpasswd"], input=f"{name}:{known[name]}\n", text=True, check=True)
        book.seek(0)
        book.truncate()
        book.write("".join(f"{n} {p}\n" for n, p in known.items()))
    print(f"{len(names)} learners ready; their passwords are in {slips} (0600): print it, cut it into slips.")


def as_learner(name: str, cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    user = pwd.getpwnam(name)
    env = {"HOME": user.pw_dir, "USER": name, "PATH": "/usr/bin:/bin", "LANG": os.environ.get("LANG", "C.UTF-8")}
    return subprocess.run(cmd, user=user.pw_uid, group=user.pw_gid, extra_groups=[], env=env, cwd=user.pw_dir,
                          capture_output=True, text=True, timeout=120, **kw)  # type: ignore[call-overload]  # fmt: skip


def preflight(names: list[str]) -> None:
    """Every part of the hub is where it must be, and a learner can run this environment's Python."""
    if os.geteuid() != 0:
        raise HubError("the hub must run as root (sudo): it starts each learner's server as that learner")
    if not PROXY.exists():
        raise HubError(f"{PROXY} is missing: run `make hub` (it runs `npm ci --prefix hub`)")
    missing = [n for n in names if not is_learner(n)]
    if missing:
        raise HubError(f"not kit learners yet: {', '.join(missing)}; run `python -m helpers hub add-users FILE`")
    probe = as_learner(names[0], [sys.executable, "-c", "import helpers.hub.singleuser, jupyterhub.singleuser, jupyterlab"])
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise HubError(f"learner {names[0]} cannot run {sys.executable}: {last}. Install the kit where every user "
                       "can read it, e.g. /opt/kms-workshop with a system Python (docs/hub.md)")  # fmt: skip


def start(args: argparse.Namespace) -> int:
    names = read_names(args.users)
    if args.create_users:
        add_users(names, args.state)
    preflight(names)
    statefile.make_private_folder(args.state)
    proxy_token, *_ = [secret_file(args.state, name) for name in (SECRETS[1], SECRETS[0], SECRETS[2])]
    settings_override()  # no JupyterLab news or update checks from the learners' servers
    env = {**os.environ, "CONFIGPROXY_AUTH_TOKEN": proxy_token, "KMS_HUB_KIT": str(KIT),
           "KMS_HUB_STATE": str(args.state.resolve()), "KMS_HUB_USERS": str(args.users.resolve()),
           "KMS_HUB_IP": args.ip, "KMS_HUB_PORT": str(args.port), "KMS_HUB_HUB_PORT": str(args.hub_port),
           "KMS_HUB_PROXY_API_PORT": str(args.proxy_api_port), "KMS_HUB_PYTHON": sys.executable}  # fmt: skip
    print(f"JupyterHub for {len(names)} learners on http://{args.ip}:{args.port}/ (Ctrl-C stops it and every "
          f"learner's server). Passwords: {args.state / PASSWORDS}; instructor API token: "
          f"{args.state / SECRETS[2]} (both 0600).", flush=True)  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(CONFIG)], cwd=args.state, env=env)
    signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
    try:
        return proc.wait()
    except KeyboardInterrupt:  # the hub got the Ctrl-C too, and stops the servers and the proxy
        return proc.wait()


def api(state: Path, port: int, method: str, path: str) -> int:
    """One call to the hub's REST API with the instructor's token; returns the HTTP status (0: no hub)."""
    token = secret_file(state, SECRETS[2], make=False)
    request = urllib.request.Request(f"http://127.0.0.1:{port}/hub/api{path}", method=method,
                                     headers={"Authorization": f"token {token}"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def reset(args: argparse.Namespace) -> int:
    """Stop the learner's server, then remove (as the learner) their copy and their emulator state."""
    if not is_learner(args.name):
        raise HubError(f"{args.name} is not a kit learner")
    if (args.state / SECRETS[2]).exists():
        api(args.state, args.port, "DELETE", f"/users/{args.name}/server")
    gone = as_learner(args.name, [sys.executable, "-c", "import shutil, pathlib; h = pathlib.Path.home(); "
                                  "[shutil.rmtree(h / d, ignore_errors=True) for d in ('kms-workshop', '.kms-workshop')]"])  # fmt: skip
    if gone.returncode != 0:
        raise HubError(f"could not reset {args.name}: {gone.stderr.strip()}")
    print(f"{args.name}: notebooks and emulator keys removed; their next start copies the notebooks afresh.")
    return 0


def remove_users(args: argparse.Namespace) -> int:
    """Stop each learner's server and processes, then delete the account and its home."""
    names = read_names(args.users)
    for name in names:
        if not is_learner(name):
            print(f"{name}: not a kit learner, left alone")
            continue
        if (args.state / SECRETS[2]).exists():
            api(args.state, args.port, "DELETE", f"/users/{name}/server")
        uid = pwd.getpwnam(name).pw_uid
        for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
            try:
                if os.stat(f"/proc/{pid}").st_uid == uid:
                    os.kill(int(pid), signal.SIGKILL)
            except OSError:
                continue
        subprocess.run(["userdel", "--remove", name], check=True, capture_output=True)
    slips = args.state / PASSWORDS
    if slips.exists():
        kept = [line for line in slips.read_text(encoding="utf-8").splitlines() if line.split(" ")[0] not in names]
        slips.write_text("".join(f"{line}\n" for line in kept), encoding="utf-8")
    try:
        if not grp.getgrnam(GROUP).gr_mem:
            subprocess.run(["groupdel", GROUP], check=True, capture_output=True)
    except KeyError:
        pass
    print(f"removed: {', '.join(names)}")
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kms-workshop hub", description=__doc__.splitlines()[0])
    p.add_argument("--state", type=Path, default=STATE, help=f"the hub's folder (0700; default {STATE})")
    p.add_argument("--port", type=int, default=8000, help="the hub's public port (default 8000)")
    sub = p.add_subparsers(dest="verb")
    run = sub.add_parser("start", help="run the hub until Ctrl-C (the default)")
    run.add_argument("--users", type=Path, required=True, help="the learners' login names, one a line")
    run.add_argument("--ip", default="127.0.0.1", help="address to listen on (default 127.0.0.1: loopback only)")
    run.add_argument("--hub-port", type=int, default=8081, help="the hub's internal port (loopback)")
    run.add_argument("--proxy-api-port", type=int, default=8001, help="the proxy's API port (loopback)")
    run.add_argument("--create-users", action="store_true", help="add-users first")
    add = sub.add_parser("add-users", help="create the learners as system users, with a password each")
    add.add_argument("users", type=Path)
    one = sub.add_parser("reset", help="one learner's notebooks and emulator state, afresh (the venv is kept)")
    one.add_argument("name")
    rm = sub.add_parser("remove-users", help="stop the learners' servers and delete their accounts")
    rm.add_argument("users", type=Path)
    return p


def main(argv: list[str]) -> int:
    verbs = ("start", "add-users", "reset", "remove-users", "-h", "--help")
    if not any(a in verbs for a in argv):
        argv = _insert_start(argv)
    args = _parser().parse_args(argv)
    try:
        if args.verb == "add-users":
            add_users(read_names(args.users), args.state)
            return 0
        if args.verb == "reset":
            return reset(args)
        if args.verb == "remove-users":
            return remove_users(args)
        return start(args)
    except (HubError, statefile.StateFileError, OSError, subprocess.CalledProcessError) as exc:
        print(f"kms-workshop hub: error: {exc}", file=sys.stderr)
        return 3


def _insert_start(argv: list[str]) -> list[str]:
    """`hub --users F` means `hub start --users F`; the shared options stay before the verb."""
    shared, rest, i = [], [], 0
    while i < len(argv):
        if argv[i] in ("--state", "--port") and i + 1 < len(argv):
            shared += argv[i:i + 2]
            i += 2
        else:
            rest.append(argv[i])
            i += 1
    return [*shared, "start", *rest]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
