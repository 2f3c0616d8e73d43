"""``python -m portal`` is the ``portal`` command."""

from portal.cli.main import main

main(prog_name="portal")
