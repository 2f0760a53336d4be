"""``python -m console ...``: the ``shudi`` command without its installed script."""

import sys

from console.cli.main import main

if __name__ == "__main__":
    sys.argv[0] = "shudi"
    main()
