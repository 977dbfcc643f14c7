"""The packaged app's entry script: PyInstaller runs a script, not a package's ``__main__``."""

import sys

from convviz.cli import main

if __name__ == "__main__":
    sys.exit(main())
