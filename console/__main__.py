"""``python -m console ...``: the ``shudi`` command without its installed script."""

from console.cli.main import main

if __name__ == "__main__":
    main()
