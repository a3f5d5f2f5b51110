"""``python -m skinsmooth_core``: the ``skinsmooth`` command."""

import sys

from skinsmooth_core.cli import main

if __name__ == "__main__":
    sys.exit(main())
