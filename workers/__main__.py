"""``python -m workers``: see :mod:`workers.cli`."""

import sys

from workers.cli import main

sys.exit(main())
