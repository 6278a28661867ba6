"""``python -m nnbp``: the same entry point as the ``nnbp`` console script."""

from nnbp.cli import main

if __name__ == "__main__":
    main()
