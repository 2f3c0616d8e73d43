"""Where a canary string could have landed: files of an instance, temporary files, table rows.

Every canary test asks the same three questions, so they are answered once here. Temporary
folders are shared with whatever else the machine runs (pip, other test workers), so a file
that vanishes or cannot be read between listing and reading is passed over, never an error.
"""

import os
from collections.abc import Iterable
from pathlib import Path

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.db import app_database
from portal.models import Base
from portal.settings import Settings
from tests.conftest import sqlite_files


def files_under(folder: Path) -> set[Path]:
    """Every regular file below ``folder`` now (links are not followed)."""
    found = set()
    for directory, _subfolders, names in os.walk(folder, onerror=lambda _error: None):
        for name in names:
            path = Path(directory, name)
            if path.is_file() and not path.is_symlink():
                found.add(path)
    return found


def instance_files(settings: Settings) -> set[Path]:
    """What a seized disk holds of an instance: its folder and, on SQLite, the database with its
    write-ahead log and index, wherever the database lies."""
    return files_under(Path(settings.instance_dir)) | set(sqlite_files(settings.database_url))


def files_holding(files: Iterable[Path], needle: bytes) -> list[Path]:
    """The files among ``files`` whose bytes contain ``needle``, sorted."""
    holding = []
    for path in files:
        try:
            content = path.read_bytes()
        except (FileNotFoundError, PermissionError, IsADirectoryError):
            continue
        if needle in content:
            holding.append(path)
    return sorted(holding)


def tables_holding(app: Flask, needle: str) -> list[str]:
    """The tables with a row where ``needle`` appears in a value (as text, bytes as they are)."""
    found = []
    with Session(app_database(app).engine) as session:
        for name, table in Base.metadata.tables.items():
            for row in session.execute(select(table)):
                as_text = b" ".join(v if isinstance(v, bytes) else str(v).encode() for v in row)
                if needle.encode() in as_text:
                    found.append(name)
    return found
