"""``python -m gbemu``: the gbemu command line (see gbemu.cli)."""

import sys

from gbemu.cli import main

if __name__ == "__main__":
    sys.exit(main())
