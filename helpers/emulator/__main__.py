"""Entry point for ``python -m helpers.emulator``; the real code is in ``cli.py``."""

import sys

from .cli import main

sys.exit(main())
