"""Every page in headless Chromium: no accessibility violation (axe-core), usable from the keyboard, fits a phone.

axe-core is the rule set Lighthouse's accessibility score is made of; its
script comes from npm (``make test`` installs it under ``.cache/node`` before
the tests run) and is injected into each page once the page has drawn.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from selenium.webdriver.common.keys import Keys

from tests.test_dashboard_browser import WAIT, browser, duo, query, seed, visit, wait_until  # noqa: F401

pytestmark = [pytest.mark.browser,
              pytest.mark.filterwarnings("ignore:HTTPResponse.getheader:DeprecationWarning")]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
AXE_CORE = Path(os.environ.get("AXE_CORE_JS") or PROJECT_ROOT / ".cache/node/node_modules/axe-core/axe.min.js")
PHONE = (375, 812)  # an iPhone X's CSS pixels


@pytest.fixture(scope="module")
def axe_script() -> str:
    assert AXE_CORE.is_file(), (f"axe-core is not installed at {AXE_CORE}: run `make test` (it installs it), or "
                                f"`npm install --prefix .cache/node -E axe-core@4.10.2`")
    return AXE_CORE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def pages(dashboard_recommender, seed):  # noqa: F811 - the fixture imported above
    """Each page with something on it, and the CSS selector that shows it has drawn."""
    top = dashboard_recommender.recommend(seed.track_id, 1)[0]
    listener = dashboard_recommender.random_active_user(seed=3)
    return {
        "discover, empty": ("/", "#discover-empty"),
        "discover, a list": (f"/?track={seed.track_id}", "#discover-list .rec-item"),
        "explain": (f"/explain?seed={seed.track_id}&track={top.track_id}", "#explain-ranks .main-svg"),
        "alpha": (f"/alpha?track={seed.track_id}", "#alpha-bump .main-svg"),
        "for you, a listener": (f"/user?id={listener}", "#user-recs-list .rec-item"),
        "for you, a session": ("/user?mode=session", "#session-empty"),
        "data": ("/data", "#data-timings .main-svg"),
        "not found": ("/no/such/page", "#not-found"),
    }


def axe_violations(browser, script: str) -> list[dict]:  # noqa: F811
    """axe-core's violations on the page shown, each as ``{"id", "impact", "help", "targets"}``."""
    browser.driver.execute_script(script)
    results = browser.driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document).then(r => done(r.violations), e => done([{id: 'axe error', help: String(e), nodes: []}]));")
    return [{"id": v["id"], "impact": v.get("impact"), "help": v["help"],
             "targets": [n["target"] for n in v["nodes"]][:5]} for v in results]


@pytest.mark.parametrize("page", ["discover, empty", "discover, a list", "explain", "alpha", "for you, a listener",
                                  "for you, a session", "data", "not found"])
def test_a_page_has_no_accessibility_violation(browser, pages, axe_script, page):  # noqa: F811
    path, drawn = pages[page]
    visit(browser, path, drawn)
    assert axe_violations(browser, axe_script) == []


def test_alpha_is_reached_with_tab_and_moved_with_the_arrow_keys(browser, seed, dashboard_recommender):  # noqa: F811
    visit(browser, f"/?track={seed.track_id}", "#discover-list .rec-item")
    driver = browser.driver
    driver.execute_script("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")
    body = driver.find_element("css selector", "body")
    body.send_keys(Keys.TAB)
    for _ in range(40):  # every control before it is passed over with Tab, none traps the focus
        focused = driver.switch_to.active_element
        if focused.get_attribute("role") == "slider" and focused.get_attribute("aria-label") == "Blend α":
            break
        focused.send_keys(Keys.TAB)
    else:
        pytest.fail("Tab never reached the α slider")
    assert focused.get_attribute("aria-valuenow") == "0.5"

    focused.send_keys(Keys.ARROW_LEFT, Keys.ARROW_LEFT)  # two steps of 0.05 towards listening behaviour
    wait_until(browser, lambda: query(browser).get("alpha") == "0.4", "the arrow keys did not change α")
    expected = [r.track_id for r in dashboard_recommender.recommend(seed.track_id, 10, alpha=0.4)]
    wait_until(browser, lambda: [item.get_attribute("data-track") for item in
                                 browser.find_elements("#discover-list .rec-item")] == expected,
               "the list did not follow α = 0.4")


def test_every_page_fits_a_phone_screen_without_scrolling_sideways(browser, pages, tmp_path):  # noqa: F811
    driver = browser.driver
    driver.set_window_size(*PHONE)
    try:
        overflowing = {}
        for page, (path, drawn) in pages.items():
            visit(browser, path, drawn)
            width = driver.execute_script("return document.documentElement.clientWidth")
            assert width <= PHONE[0], f"the window is {width} px wide, not a phone's {PHONE[0]} px"
            content = driver.execute_script("return document.documentElement.scrollWidth")
            driver.save_screenshot(str(tmp_path / f"{page.replace(' ', '-').replace(',', '')}.png"))
            if content > width:
                overflowing[page] = content
        assert overflowing == {}, f"pages wider than {PHONE[0]} px (screenshots in {tmp_path})"
    finally:
        driver.set_window_size(1400, 1000)
