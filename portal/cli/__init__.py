"""The ``portal`` command and its sub-commands, one module per group."""
