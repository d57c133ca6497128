"""JupyterHub for a workshop room on one machine; `python -m helpers hub` (helpers/commands/hub.py)
sets the KMS_HUB_* variables below and starts `jupyterhub -f` on this file. docs/hub.md says why
each choice was made and what it gives up."""

import os
from pathlib import Path

c = get_config()  # noqa: F821 (JupyterHub provides it)

kit = Path(os.environ["KMS_HUB_KIT"])
state = Path(os.environ["KMS_HUB_STATE"])
python = os.environ["KMS_HUB_PYTHON"]
names = [line.split("#", 1)[0].strip() for line in Path(os.environ["KMS_HUB_USERS"]).read_text().splitlines()]

# Network: the public port on KMS_HUB_IP (loopback unless the instructor asks), the rest on loopback.
c.JupyterHub.bind_url = f"http://{os.environ.get('KMS_HUB_IP', '127.0.0.1')}:{os.environ.get('KMS_HUB_PORT', '8000')}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{os.environ.get('KMS_HUB_HUB_PORT', '8081')}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ.get('KMS_HUB_PROXY_API_PORT', '8001')}"
c.ConfigurableHTTPProxy.command = [str(kit / "hub" / "node_modules" / ".bin" / "configurable-http-proxy")]
# CONFIGPROXY_AUTH_TOKEN (from state/proxy-token) reaches the proxy through its environment, not argv.

# State: one 0700 folder; the cookie secret made by the hub command, 0600.
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every learner's server

# Who: the learners of the names file, each with their own system password (PAM).
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = {n for n in names if n}
c.PAMAuthenticator.open_sessions = False

# Where: each learner's server runs as that learner, in their home, on their own emulator.
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [python, "-m", "helpers.hub.singleuser"]
c.Spawner.env_keep = ["LANG", "LC_ALL"]  # nothing else of the instructor's shell reaches a learner
c.Spawner.environment = {"PATH": f"{Path(python).parent}:/usr/local/bin:/usr/bin:/bin", "KMS_WORKSHOP_BACKEND": "emulator"}
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 180  # ten learners at once on two cores (docs/hub.md, figures)
c.Spawner.http_timeout = 180

# The instructor's API token (state/api-token): start, stop and reset servers; no login needed.
c.JupyterHub.services = [{"name": "kms-workshop-instructor", "api_token": (state / "api-token").read_text().strip()}]
c.JupyterHub.load_roles = [{"name": "kms-workshop-instructor", "services": ["kms-workshop-instructor"],
                            "scopes": ["admin:users", "admin:servers", "tokens", "access:servers", "list:users"]}]
