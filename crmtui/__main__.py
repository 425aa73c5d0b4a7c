"""``python -m crmtui``: the same as the ``crmtui`` command."""

from crmtui.cli import main

if __name__ == "__main__":
    main()
