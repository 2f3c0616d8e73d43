"""The Alembic environment and revisions, installed as the package ``portal.migrations``.

This file makes the folder a regular package: setuptools' editable finder imports a package that
is mapped onto another folder only when it has an ``__init__.py``, and ``portal.resources`` finds
the folder by importing it. Alembic itself loads ``env.py`` and ``versions/`` by path.
"""
