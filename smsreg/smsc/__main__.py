"""`python -m smsreg.smsc`: the simulator on its own, without the smsreg configuration file."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from smsreg import config, logs
from smsreg.smsc import cli


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the simulator's options, set up logging on stderr, run it."""
    parser = argparse.ArgumentParser(
        prog="python -m smsreg.smsc",
        description="SMPP 3.4 SMSC simulator: delivers MOs to a bound ESME and prints its replies.",
    )
    cli.configure_parser(parser)
    parser.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    args = parser.parse_args(argv)
    logs.setup(config.LoggingConfig(level=args.log_level))
    return cli.run(args)


if __name__ == "__main__":
    sys.exit(main())
