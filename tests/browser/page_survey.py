"""Finding the portal's pages and checking each with axe-core, shared by the accessibility,
reflow and screenshot tests.

The pages are found, not listed: starting from a few entry points, every same-origin link is
followed, and one address is kept per route (the Flask endpoint it matches), so a route added
later is checked without anyone remembering to list it. Staff are signed in by putting a real
staff session's ticket in the browser's cookie (``tests.staff_sessions_support``), which spares
each role a TOTP step.

"Without JavaScript" is made by refusing every script the page asks for (Playwright routing):
axe-core itself must run in the page, which a context with JavaScript switched off does not
allow. No template uses ``<noscript>``, so a page whose scripts are refused is the page a browser
without JavaScript shows; :func:`axe_violations` checks that this stays true.
"""

import os
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from flask import Flask
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect
from werkzeug.exceptions import HTTPException

from tests.browser.journeys import open_session_form
from tests.staff_sessions_support import demo_credentials, sign_in_client

AXE_SCRIPT = Path(__file__).resolve().parents[1] / "node_modules" / "axe-core" / "axe.min.js"

# English, the right-to-left language, and one more: the pages are checked in each.
LOCALES = ("en", "ar", "fr")

# Links that are not pages to check: leaving the site, files for download or for scripts.
NOT_PAGES = ("/quick-exit", "/static/", "/healthz", "/uploads/", "/codename-words/")
DOWNLOAD_SUFFIXES = (".csv", ".md", ".txt", "/export", "/sealed")

# Pages visited per route: enough to meet its different states, few enough to stay quick.
PAGES_PER_ROUTE = 2

# Where a staff role's walk may go, and where it starts: the staff home, and for the
# administrator the administration pages too.
STAFF_PATHS = ("/staff/", "/admin/")
STAFF_STARTS = {"administrator": ["/staff/", "/admin/"]}

# What a reprisal report form is filled with on its way to the codename page.
REPRISAL = {
    "what_happened": "Travel ban after speaking at the Council.",
    "link_to_engagement": "Side event in Geneva.",
    "when": "last week",
}

# axe-core leaves WCAG 2.2's target size (2.5.8) off by default; public and inbox pages, where
# people tap with a finger on a phone, are checked for it too.
TARGET_SIZE = ("target-size",)

RUN_AXE = """async (extraRules) => {
  const rules = Object.fromEntries(extraRules.map((rule) => [rule, {enabled: true}]));
  const results = await axe.run(document, {rules});
  return results.violations.map((violation) => ({
    id: violation.id,
    impact: violation.impact,
    help: violation.help,
    nodes: violation.nodes.map((node) => ({
      target: node.target.join(' '),
      summary: node.failureSummary,
    })),
  }));
}"""


def axe_source() -> str:
    """axe-core's script, installed by ``make browser-deps`` (npm ci in tests/)."""
    if not AXE_SCRIPT.exists():
        reason = f"axe-core is not installed at {AXE_SCRIPT}: run `make browser-deps`"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    return AXE_SCRIPT.read_text(encoding="utf-8")


def with_locale(url: str, locale: str) -> str:
    """``url`` asking for the page in ``locale`` (the ``lang`` query parameter)."""
    parts = urlsplit(url)
    query = [(key, value) for key, value in parse_qsl(parts.query) if key != "lang"]
    query.append(("lang", locale))
    return urlunsplit(parts._replace(query=urlencode(query)))


def refuse_scripts(context: Any) -> None:
    """Make ``context`` show pages as a browser without JavaScript does (see the module doc)."""
    context.route(
        "**/*",
        lambda route: (
            route.abort() if route.request.resource_type == "script" else route.continue_()
        ),
    )


@contextmanager
def browsing(chromium: Any, *, javascript: bool, **options: Any) -> Iterator[Any]:
    """A page in a fresh context, with the portal's scripts running or refused."""
    context = chromium.new_context(**options)
    if not javascript:
        refuse_scripts(context)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


def sign_in_staff_context(context: Any, app: Flask, server: str, email: str, password: str) -> None:
    """Put a fresh staff session for ``email`` into the browser context's cookie."""
    client = app.test_client()
    sign_in_client(app, client, email, password)
    name = app.config["SESSION_COOKIE_NAME"]
    cookie = client.get_cookie(name)
    assert cookie is not None, "signing in the test client set no session cookie"
    context.add_cookies([{"name": name, "value": cookie.value, "url": server}])


def endpoint_of(app: Flask, url: str) -> str | None:
    """The Flask endpoint ``url`` reaches, or ``None`` when no route matches."""
    try:
        endpoint, _arguments = app.url_map.bind("localhost").match(urlsplit(url).path)
    except HTTPException:
        return None
    return endpoint


def is_page_link(server: str, url: str) -> bool:
    """Whether ``url`` is one of the portal's pages worth a visit (not a file or a way out)."""
    if not url.startswith(server + "/"):
        return False
    path = urlsplit(url).path
    return not path.startswith(NOT_PAGES) and not path.endswith(DOWNLOAD_SUFFIXES)


def discover_pages(
    page: Any,
    app: Flask,
    server: str,
    starts: Iterable[str],
    within: tuple[str, ...] = ("/",),
    per_route: int = PAGES_PER_ROUTE,
) -> list[str]:
    """Up to ``per_route`` addresses per route reachable by links from ``starts`` (paths),
    following only links whose path starts with one of ``within``.

    Only pages that answer 200 with HTML are kept. A few pages per route, not all, keep the walk
    short however many dialogues, sessions or submissions the instance holds, while still
    reaching the pages that only some of them link to (a form under an open consultation).
    """
    queue = deque(server + start for start in starts)
    visited: set[str] = set()
    per_endpoint: Counter[str] = Counter()
    pages: list[str] = []
    while queue:
        url = urlunsplit(urlsplit(queue.popleft())._replace(fragment=""))
        endpoint = endpoint_of(app, url)
        if endpoint is None or url in visited or per_endpoint[endpoint] >= per_route:
            continue
        visited.add(url)
        per_endpoint[endpoint] += 1
        try:
            response = page.goto(url)
        except PlaywrightError as error:
            # A link answered with a file to save (an attachment, an export) is not a page.
            if "Download is starting" in error.message:
                continue
            raise
        if response is None or response.status != 200:
            continue
        if not response.headers.get("content-type", "").startswith("text/html"):
            continue
        if page.url in pages:  # reached again through a redirect
            continue
        visited.add(page.url)
        pages.append(page.url)
        links = page.eval_on_selector_all("a[href]", "links => links.map((link) => link.href)")
        queue.extend(
            link
            for link in links
            if is_page_link(server, link) and urlsplit(link).path.startswith(within)
        )
    return pages


def axe_violations(page: Any, source: str, extra_rules: Iterable[str] = ()) -> list[str]:
    """axe-core's violations on the page as loaded (its default rules and ``extra_rules``), one
    readable block per element at fault."""
    assert page.locator("noscript").count() == 0, (
        f"{page.url} uses <noscript>: refusing scripts no longer shows the page without JavaScript"
    )
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(source)
    found = page.evaluate(RUN_AXE, list(extra_rules))
    return [
        f"{page.url}: [{violation['impact']}] {violation['id']}: {violation['help']}\n"
        f"    at {node['target']}\n    " + node["summary"].replace("\n", "\n    ")
        for violation in found
        for node in violation["nodes"]
    ]


def survey(
    page: Any,
    urls: Iterable[str],
    source: str,
    locales: Iterable[str],
    extra_rules: Iterable[str] = (),
) -> list[str]:
    """Every violation on every page of ``urls`` in each locale, as readable blocks."""
    problems: list[str] = []
    for url in urls:
        for locale in locales:
            response = page.goto(with_locale(url, locale))
            assert response is not None and response.status == 200, f"{page.url} did not load"
            page.wait_for_load_state()
            problems.extend(axe_violations(page, source, extra_rules))
    return problems


def walk_submission(page: Any, server: str, locale: str, visit: Callable[[Any], None]) -> None:
    """Take a reprisal report through the pages no link reaches, calling ``visit`` on each: the
    empty form, the form refused for missing fields, the codename page, a wrong retype."""
    open_session_form(page, server, "/reprisal-report")
    page.goto(with_locale(page.url, locale))
    page.wait_for_load_state()
    visit(page)
    page.locator("button[type='submit']").last.click()
    expect(page.locator("#field-link_to_engagement")).to_have_attribute("aria-invalid", "true")
    visit(page)
    for name, value in REPRISAL.items():
        page.locator(f"#field-{name}").fill(value)
    page.locator("button[type='submit']").last.click()
    page.locator("#codename li").first.wait_for(timeout=30_000)
    visit(page)
    for field in page.locator("input[id^='retype-word-']").all():
        field.fill("wrong")
    page.locator(".retype-check button[type='submit']").click()
    page.wait_for_load_state()
    visit(page)


def check_staff_role(
    chromium: Any, app: Flask, server: str, credentials_file: Path, role: str, javascript: bool
) -> None:
    """axe-core's survey of the pages the demo account of ``role`` reaches, one page per route
    (four roles already meet most routes in different states), failing on any violation."""
    source = axe_source()
    account = demo_credentials(credentials_file)[role]
    with browsing(chromium, javascript=javascript) as page:
        sign_in_staff_context(page.context, app, server, account.email, account.password)
        pages = discover_pages(
            page, app, server, STAFF_STARTS.get(role, ["/staff/"]), within=STAFF_PATHS, per_route=1
        )
        assert len(pages) >= 3, pages
        problems = survey(page, pages, source, LOCALES)
    print(f"axe-core checked {len(pages)} pages as {role}:", *pages, sep="\n  ")
    assert not problems, f"{len(problems)} axe-core violations:\n" + "\n".join(problems)
