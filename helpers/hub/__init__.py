"""The kit on JupyterHub: `python -m helpers hub` (commands/hub.py) runs the hub as root,
`singleuser` runs each learner's server as that learner. See docs/hub.md."""
