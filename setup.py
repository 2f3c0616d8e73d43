"""The package list, the one build setting pyproject.toml cannot express.

``templates/`` and ``migrations/`` stay at the top of the repository and are installed as the
packages ``portal.templates`` and ``portal.migrations`` (``package-dir`` in pyproject.toml maps
them onto their folders). A ``packages.find`` table there only discovers packages under the
names of their folders, and a fixed list would silently drop every sub-package added later; so
the search runs here, once under the packages' own names and once for the two mapped folders,
whose sub-folders (``templates/staff``, ``migrations/versions``) become sub-packages of theirs.
"""

from setuptools import find_namespace_packages, setup

MAPPED = ["templates", "templates.*", "migrations", "migrations.*"]

setup(
    packages=[
        *find_namespace_packages(include=["portal", "portal.*", "crypto", "crypto.*"]),
        *(f"portal.{package}" for package in find_namespace_packages(include=MAPPED)),
    ]
)
