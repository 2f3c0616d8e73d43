"""``portal export`` and ``portal decrypt``: encrypted bundles for offline review."""
