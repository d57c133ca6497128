"""Maintainer tools: re-recording the notebooks (`python -m tools.record`) and the secret scan
(`python -m tools.secretscan`). They need the dev extra (nbclient, detect-secrets) and are not part
of the package learners install; they use `helpers` from the top, as any client does."""
