"""`python -m smsreg` is the `smsreg` command."""

from __future__ import annotations

import sys

from smsreg.cli import main

sys.exit(main())
