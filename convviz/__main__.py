"""``python -m convviz``: the same as the ``convviz`` command."""

import sys

from .cli import main

sys.exit(main())
