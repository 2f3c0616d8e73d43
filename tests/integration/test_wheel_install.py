"""Acceptance for a wheel that installs: built from this checkout, used from nowhere near it.

The wheel is built by pip from a copy of the checkout (so that the build's own folders never
land in the checkout, and nothing left in them by an earlier build slips into the wheel), with
build isolation: setuptools comes from the package index, as on a fresh machine. It is installed
with its dependencies into a new virtual environment in the test's temporary folder, and the
installed ``portal`` command runs there, in that folder: ``init --demo``, then ``serve`` on a
free loopback port, which must answer the index, a public form and the staff sign-in page.

Slow (marked so): the build and the install take most of a minute.
"""

import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.integration.test_serve import free_port, serve_environment, wait_until_up

ROOT = Path(__file__).resolve().parents[2]
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", "instance", "build", "dist", "*.egg-info", "__pycache__", ".*_cache"
)
PAGES = ("/", "/dialogues/valdoria/reprisal-report", "/staff/sign-in")


def _run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.slow
def test_the_wheel_installs_initialises_and_serves_outside_the_checkout(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCES)
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", "dist", source, cwd=tmp_path)
    [wheel] = (tmp_path / "dist").glob("parley-*.whl")
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    _run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheel, cwd=tmp_path)
    shutil.rmtree(source)

    environment = serve_environment(tmp_path / "instance")
    environment.pop("PYTHONPATH", None)
    folders = _run(
        venv / "bin" / "python",
        "-c",
        "from portal.resources import shipped_folder as f; print(f('templates'), f('migrations'))",
        cwd=tmp_path,
        env=environment,
    )
    site_packages = next((venv / "lib").glob("python3.*/site-packages"))
    assert folders.split() == [
        str(site_packages / "portal" / "templates"),
        str(site_packages / "portal" / "migrations"),
    ]
    # Every compiled catalogue is installed where the portal looks for it.
    catalogues = _run(
        venv / "bin" / "python",
        "-c",
        "from babel.support import Translations as T; from portal.locales import *; "
        "print(*(type(T.load(TRANSLATIONS_DIR, [c])).__name__ for c in LANGUAGES if c != 'en'))",
        cwd=tmp_path,
        env=environment,
    )
    assert catalogues.split() == ["Translations"] * 7
    portal = venv / "bin" / "portal"
    _run(
        portal,
        "init",
        "--demo",
        "--credentials-out",
        "credentials.json",
        cwd=tmp_path,
        env=environment,
    )

    port = free_port()
    with (tmp_path / "server.log").open("wb") as log:
        server = subprocess.Popen(
            [portal, "serve", "--port", str(port), "--workers", "1"],
            cwd=tmp_path,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_up(port, server)
            for path in PAGES:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as page:
                    assert (page.status, b"</html>" in page.read()) == (200, True), path
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
