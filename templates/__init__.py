"""The Jinja templates, installed as the package ``portal.templates`` (see pyproject.toml).

This file makes the folder a regular package: setuptools' editable finder imports a package that
is mapped onto another folder only when it has an ``__init__.py``, and ``portal.resources`` finds
the folder by importing it.
"""
