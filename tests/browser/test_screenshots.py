"""Pictures of the main pages for a person to look at (issue 13, acceptance 5).

Public, inbox and staff pages in English and Arabic, the public pages and a form also in Chinese
(another script, other line breaks), 1280 and 320 CSS pixels wide, full length,
written as PNG files into ``PARLEY_SCREENSHOTS_DIR`` when set, else into the test's temporary
folder; the folder is printed. What a machine can check is checked elsewhere (axe-core, reflow,
keyboard tests); these are for the eye: overlaps, cramped buttons, a layout that does not mirror.
"""

import os
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from portal.models import SubmissionKind
from tests.browser.page_survey import (
    browsing,
    sign_in_staff_context,
    walk_submission,
    with_locale,
)
from tests.browser.test_accessibility_public import CASE, sign_in_inbox
from tests.conftest import DemoInstance, SentSubmission
from tests.staff_sessions_support import demo_credentials

pytestmark = pytest.mark.browser

WIDTHS = (1280, 320)
SHOT_LOCALES = ("en", "ar")
PUBLIC_LOCALES = (*SHOT_LOCALES, "zh")
PUBLIC = {"index": "/", "dialogue": "/dialogues/valdoria", "inbox-sign-in": "/inbox/sign-in"}
STAFF = {"staff-home": "/staff/", "queue": "/staff/dialogues/valdoria/queue"}
ADMIN = {"admin-dialogue": "/admin/dialogues/valdoria"}


def png_width(path: Path) -> int:
    """The width a PNG file's header gives (its IHDR chunk)."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG file"
    return struct.unpack(">I", header[16:20])[0]


@pytest.fixture
def shots_folder(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("PARLEY_SCREENSHOTS_DIR", tmp_path / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"screenshots in {folder}")
    return folder


def shoot(
    page: Any, folder: Path, name: str, locale: str, width: int, *, fits: bool = True
) -> Path:
    """Picture the whole page; a page that ``fits`` must be no wider than the viewport (staff
    pages are pictured however wide they are: their layout is checked by the staff tests)."""
    path = folder / f"{name}-{locale}-{width}.png"
    page.screenshot(path=str(path), full_page=True)
    assert not fits or png_width(path) == width, f"{path} is wider than {width} px"
    return path


def shooting_states(
    folder: Path, locale: str, width: int, written: list[Path]
) -> Callable[[Any], None]:
    """What :func:`walk_submission` calls on each page it passes: one picture, named by state."""
    states = iter(["form", "form-refused", "codename", "retype-refused"])
    return lambda page: written.append(shoot(page, folder, next(states), locale, width))


@pytest.mark.parametrize("width", WIDTHS)
def test_screenshots_of_the_main_pages(
    chromium: Any,
    portal_server: str,
    portal_server_instance: DemoInstance,
    served_app: Flask,
    send_under_new_codename: Callable[..., SentSubmission],
    shots_folder: Path,
    width: int,
) -> None:
    sent = send_under_new_codename(
        portal_server_instance.settings, SubmissionKind.INDIVIDUAL_CASE, CASE
    )
    viewport = {"width": width, "height": 800}
    written: list[Path] = []
    with browsing(chromium, javascript=True, viewport=viewport) as page:
        for locale in PUBLIC_LOCALES:
            for name, path in PUBLIC.items():
                page.goto(with_locale(portal_server + path, locale))
                written.append(shoot(page, shots_folder, name, locale, width))
            walk_submission(
                page, portal_server, locale, shooting_states(shots_folder, locale, width, written)
            )
        sign_in_inbox(page, portal_server, sent.codename)
        for locale in SHOT_LOCALES:
            page.goto(with_locale(portal_server + "/inbox", locale))
            written.append(shoot(page, shots_folder, "inbox", locale, width))
            page.goto(with_locale(portal_server + f"/inbox/{sent.public_id}", locale))
            # What was sent is read back by the page's script once the codename's key opens it.
            expect(page.locator("main")).to_contain_text(CASE["persons"][0]["name"])
            written.append(shoot(page, shots_folder, "inbox-submission", locale, width))
    accounts = demo_credentials(portal_server_instance.credentials_file)
    staff_pages = {**STAFF, "staff-submission": f"/staff/submissions/{sent.public_id}"}
    for role, pages in (("triage_officer", staff_pages), ("administrator", ADMIN)):
        with browsing(chromium, javascript=True, viewport=viewport) as page:
            sign_in_staff_context(
                page.context,
                served_app,
                portal_server,
                accounts[role].email,
                accounts[role].password,
            )
            for locale in SHOT_LOCALES:
                for name, path in pages.items():
                    page.goto(with_locale(portal_server + path, locale))
                    written.append(shoot(page, shots_folder, name, locale, width, fits=False))
    print(*written, sep="\n  ")
