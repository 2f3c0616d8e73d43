"""``python -m portal`` is the ``portal`` command."""

from portal.cli import main

main(prog_name="portal")
