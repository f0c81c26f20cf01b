"""``python -m slopelab``: the command line, the same as the ``slopelab`` script."""

from slopelab.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
