"""Where the folders that ship beside the code are: the Jinja templates and the migrations.

They live at the top of the repository, outside ``portal/``, and are installed as the packages
``portal.templates`` and ``portal.migrations`` (pyproject.toml and setup.py). Asking the import
system for those packages finds the installed copies inside site-packages when Parley comes from
a wheel, and the checkout's own folders, through setuptools' editable finder, after
``pip install -e .`` (also when ``portal`` itself is imported straight from the checkout, as the
test suite does). A checkout that was never installed has no such packages and fails here.
"""

from importlib import resources
from pathlib import Path


def shipped_folder(name: str) -> Path:
    """The folder of the package ``portal.<name>`` on disk.

    Jinja's file loader and Alembic read plain files, and every install pip makes is a folder on
    disk, where ``importlib.resources`` hands back the folder's path.
    """
    return Path(str(resources.files(f"portal.{name}")))
