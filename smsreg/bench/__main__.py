"""`python -m smsreg.bench`."""

from __future__ import annotations

import sys

from smsreg.bench import cli

sys.exit(cli.main())
