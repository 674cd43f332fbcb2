"""The dashboard in headless Chromium (dash[testing]'s dash_duo browser), doing what a person does on each page.

Every test drives the real gunicorn server of the session, asserts on what is
shown, and ends by checking that the browser console has no errors.
"""
from __future__ import annotations

import urllib.parse

import pytest
from dash.testing.composite import DashComposite
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from dashboard import plotlyjs
from dashboard.components.tracks import track_label

pytestmark = [pytest.mark.browser,
              pytest.mark.filterwarnings("ignore:HTTPResponse.getheader:DeprecationWarning")]
WAIT = 20


@pytest.fixture(scope="module")
def duo(request, tmp_path_factory):
    """``dash_duo``'s browser (dash.testing's DashComposite, same options), started once per module.

    dash_duo starts a new Chromium for every test, which takes several seconds
    on a loaded 2-core machine; these tests share one and reset it between tests.
    """
    config = request.config
    with DashComposite(server=None, browser=config.getoption("webdriver"), remote=config.getoption("remote"),
                       remote_url=config.getoption("remote_url"), headless=config.getoption("headless"),
                       options=config.hook.pytest_setup_options(),
                       download_path=str(tmp_path_factory.mktemp("download")),
                       percy_assets_root=config.getoption("percy_assets"),
                       percy_finalize=config.getoption("nopercyfinalize"), pause=config.getoption("pause"),
                       wait_timeout=WAIT) as composite:
        composite.driver.set_window_size(1400, 1000)  # a laptop screen: the pages' two-column layout
        yield composite


@pytest.fixture
def browser(duo, dashboard_server):
    """The shared browser with an empty session store; fails the test on any browser console error."""
    duo.base = dashboard_server.url
    if duo.driver.current_url.startswith(dashboard_server.url):
        duo.driver.execute_script("window.sessionStorage.clear()")
    duo.reset_log_timestamp()
    yield duo
    errors = [entry for entry in duo.get_logs() if entry["level"] == "SEVERE"]
    assert errors == [], f"browser console errors: {errors}\nserver log:\n{dashboard_server.log()[-3000:]}"


@pytest.fixture(scope="module")
def seed(dashboard_recommender):
    """A popular track with a distinctive name to type into the search box."""
    tracks = dashboard_recommender.tracks.sort_values("n_listeners", ascending=False)
    return dashboard_recommender.track(tracks["track_id"].iloc[0])


def visit(browser, path: str, wait_for: str):
    browser.wait_for_page(url=browser.base + path, timeout=WAIT)
    return wait_for_element(browser, wait_for)


_SCROLL_TO_A_GRAPH = """const box = Array.from(document.querySelectorAll('.lazy-graph > .lazy-graph-pending'))
    .map(marker => marker.parentElement).find(box => box.getClientRects().length > 0);
if (box) { box.scrollIntoView({block: 'center'}); }"""


def wait_for_element(browser, selector: str):
    """The first element ``selector`` finds, once there; meanwhile each graph still to be drawn is scrolled
    into view in turn, as a person reading down the page would (graphs are drawn when they come into view)."""
    def found(driver):
        elements = driver.find_elements(By.CSS_SELECTOR, selector)
        if not elements:
            driver.execute_script(_SCROLL_TO_A_GRAPH)
        return elements[0] if elements else False
    return WebDriverWait(browser.driver, WAIT, poll_frequency=0.1).until(found, f"{selector} did not appear")


def query(browser) -> dict:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(browser.driver.current_url).query))


def pick(browser, dropdown: str, text: str, option_text: str | None = None):
    """Open a dropdown, type ``text`` into its search box and click the option reading ``option_text``.

    The options are replaced as the server answers each keystroke, so a found
    option may go stale before the click: look again until the click lands.
    """
    browser.find_element(dropdown).click()
    box = browser.wait_for_element(".dash-dropdown-content input.dash-dropdown-search")
    box.send_keys(text)
    wanted = option_text or text

    def click_wanted(driver):
        for option in driver.find_elements(By.CSS_SELECTOR, ".dash-dropdown-option"):
            if option.text == wanted:
                option.click()
                return True
        return False

    WebDriverWait(browser.driver, WAIT, ignored_exceptions=(StaleElementReferenceException,)).until(
        click_wanted, f"no option {wanted!r} after typing {text!r}")
    browser.wait_for_no_elements(".dash-dropdown-content")  # the menu closed


def click(browser, element):
    """Scroll ``element`` to the middle of the window, then click it as a person would."""
    browser.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    WebDriverWait(browser.driver, WAIT).until(lambda _: element.is_displayed() and element.is_enabled())
    element.click()


def listed_ids(browser, selector: str = "#discover-list .rec-item") -> list[str]:
    return [item.get_attribute("data-track") for item in browser.find_elements(selector)]


def wait_until(browser, condition, message: str):
    return WebDriverWait(browser.driver, WAIT).until(lambda _: condition(), message)


# ------------------------------------------------------------------ Discover
def test_discover_pick_a_track_move_alpha_and_open_an_explanation(browser, seed, dashboard_recommender):
    visit(browser, "/", "#discover-empty")
    pick(browser, "#discover-track", seed.name, track_label(seed))
    browser.wait_for_element("#discover-list .rec-item")
    assert len(listed_ids(browser)) == 10
    assert query(browser)["track"] == seed.track_id
    balanced = listed_ids(browser)
    assert balanced == [r.track_id for r in dashboard_recommender.recommend(seed.track_id, 10, alpha=0.5)]

    # drag-free α change: a click near the slider's left end (listening behaviour only)
    browser.click_at_coord_fractions("#discover-alpha .dash-slider-root", 0.0, 0.5)
    wait_until(browser, lambda: query(browser).get("alpha") == "0", "alpha did not reach the URL")
    behaviour = [r.track_id for r in dashboard_recommender.recommend(seed.track_id, 10, alpha=0.0)]
    wait_until(browser, lambda: listed_ids(browser) == behaviour, "the list did not follow alpha = 0")
    assert behaviour != balanced

    click(browser, browser.find_elements("#discover-list .explain-link")[0])
    browser.wait_for_element("#explain-blocks")
    assert query(browser) == {"seed": seed.track_id, "track": behaviour[0], "alpha": "0"}
    browser.wait_for_contains_text("#explain-header", seed.name)

    browser.driver.back()  # the back button returns to the same list
    browser.wait_for_element("#discover-list .rec-item")
    wait_until(browser, lambda: listed_ids(browser) == behaviour, "back did not restore the alpha = 0 list")
    assert browser.find_element("#discover-alpha input").get_attribute("value") == "0"


def test_discover_method_and_k_are_kept_in_the_url(browser, seed, dashboard_recommender):
    visit(browser, f"/?track={seed.track_id}&k=5", "#discover-list .rec-item")
    assert len(listed_ids(browser)) == 5
    click(browser, browser.find_element("label[for='_dbcprivate_radioitems_discover-method_input_content']"))
    content_only = [r.track_id for r in dashboard_recommender.recommend(seed.track_id, 5, alpha=1.0)]
    wait_until(browser, lambda: listed_ids(browser) == content_only, "content-only list not shown")
    assert query(browser)["method"] == "content"
    assert browser.find_element("#discover-alpha .dash-slider-root").get_attribute("aria-disabled") == "true"

    browser.driver.refresh()  # a bookmarked view comes back as it was
    browser.wait_for_element("#discover-list .rec-item")
    wait_until(browser, lambda: listed_ids(browser) == content_only, "reload lost the view")


def test_discover_an_empty_search_says_nothing_matches(browser):
    visit(browser, "/", "#discover-empty")
    browser.find_element("#discover-track").click()
    browser.wait_for_element(".dash-dropdown-content input.dash-dropdown-search").send_keys("zzqx-no-such-song")
    browser.wait_for_contains_text(".dash-dropdown-content", "No track or artist contains “zzqx-no-such-song”")


def test_discover_a_bad_url_shows_notices_not_an_error(browser):
    visit(browser, "/?track=NO-SUCH-TRACK&alpha=2&k=0", "#discover-notice .alert")
    browser.wait_for_contains_text("#discover-notice", "There is no track with id “NO-SUCH-TRACK”")
    browser.wait_for_contains_text("#discover-notice", "α must be a number from 0 to 1")
    browser.wait_for_contains_text("#discover-notice", "from 5 to 50")
    browser.wait_for_element("#discover-empty")


# ------------------------------------------------------------------- Explain
def test_explain_shows_why_with_shared_tags_highlighted(browser, seed, dashboard_recommender):
    top = dashboard_recommender.recommend(seed.track_id, 1)[0]
    explanation = dashboard_recommender.explain(seed.track_id, top.track_id)
    visit(browser, f"/explain?seed={seed.track_id}&track={top.track_id}", "#explain-blocks .main-svg")
    wait_for_element(browser, "#explain-radar .main-svg")
    wait_for_element(browser, "#explain-ranks .main-svg")
    facts = browser.find_element("#explain-facts").text
    assert f"{explanation.content_similarity:.3f}" in facts
    assert f"{explanation.shared_listeners:,}" in facts
    shared = [t.text for t in browser.find_elements("#explain-tags .tag.shared")]
    assert shared == list(explanation.shared_tags)


def test_graphs_are_drawn_by_the_basic_plotly_bundle(browser, seed, dashboard_recommender):
    top = dashboard_recommender.recommend(seed.track_id, 1)[0]
    visit(browser, f"/explain?seed={seed.track_id}&track={top.track_id}", "#explain-blocks .main-svg")
    traces = browser.driver.execute_script("return Object.keys(Plotly.PlotSchema.get().traces)")
    assert set(traces) == plotlyjs.TRACE_TYPES  # the full build has some 50 trace types


def test_explain_without_ids_shows_how_to_get_there(browser):
    visit(browser, "/explain", "#explain-empty")
    browser.wait_for_contains_text("#explain-empty", "Pick a recommendation to explain")
    click(browser, browser.find_element("#explain-empty .chip"))  # the example opens a real explanation
    browser.wait_for_element("#explain-blocks")


# ------------------------------------------------------------------- α page
def test_alpha_page_draws_the_bump_chart_and_draws_it_again_on_a_reload(browser, seed, dashboard_server):
    visit(browser, f"/alpha?track={seed.track_id}&k=8", "#alpha-bump .main-svg")
    lines = browser.find_elements("#alpha-bump .scatterlayer .trace")
    assert len(lines) >= 8
    wait_for_element(browser, "#alpha-overlap .main-svg")
    ends = browser.find_element("#alpha-extremes").text
    assert "α = 0 · listeners" in ends and "α = 1 · content" in ends
    browser.wait_for_contains_text("#alpha-metrics", "no offline evaluation")

    browser.driver.refresh()  # the same view again: the page's layout draws it, no callback needed
    wait_for_element(browser, "#alpha-bump .main-svg")
    assert len(browser.find_elements("#alpha-bump .scatterlayer .trace")) == len(lines)


def test_alpha_page_picks_a_seed_from_the_search_box(browser, seed):
    visit(browser, "/alpha", "#alpha-empty")
    pick(browser, "#alpha-track", seed.name, track_label(seed))
    wait_for_element(browser, "#alpha-bump .main-svg")
    assert query(browser)["track"] == seed.track_id


# ------------------------------------------------------------------ For you
def test_for_you_a_random_active_listener(browser):
    visit(browser, "/user", "#user-empty")
    click(browser, browser.find_element("#user-random"))
    browser.wait_for_element("#user-history-list .history-item")
    browser.wait_for_element("#user-recs-list .rec-item")
    listener = query(browser)["id"]
    assert listener
    browser.wait_for_contains_text("#user-history", listener)
    assert len(browser.find_elements("#user-recs-list .rec-item")) == 10


def test_for_you_find_a_listener_by_id_prefix(browser, dashboard_recommender):
    listener = dashboard_recommender.random_active_user(seed=11)
    visit(browser, "/user", "#user-empty")
    pick(browser, "#user-pick", listener[:6], listener)
    browser.wait_for_element("#user-recs-list .rec-item")
    assert query(browser)["id"] == listener


def test_for_you_an_unknown_listener_is_explained(browser):
    visit(browser, "/user?id=nobody-at-all", "#user-notice .alert")
    browser.wait_for_contains_text("#user-notice", "has no listening history")


def test_session_recommendations_follow_the_playlist(browser, seed, dashboard_recommender):
    other = dashboard_recommender.track(dashboard_recommender.recommend(seed.track_id, 30, alpha=1.0)[-1].track_id)
    visit(browser, "/user?mode=session", "#session-empty")
    pick(browser, "#session-pick", seed.name, track_label(seed))
    browser.wait_for_element("#session-recs-list .rec-item")
    one = listed_ids(browser, "#session-recs-list .rec-item")
    assert one == [r.track_id for r in dashboard_recommender.recommend_for_tracks([seed.track_id], 10, alpha=0.5)]

    pick(browser, "#session-pick", other.name, track_label(other))
    wait_until(browser, lambda: len(browser.find_elements("#session-tracks li")) == 2, "second track not added")
    both = [r.track_id for r in dashboard_recommender.recommend_for_tracks([seed.track_id, other.track_id], 10,
                                                                           alpha=0.5)]
    wait_until(browser, lambda: listed_ids(browser, "#session-recs-list .rec-item") == both,
               "recommendations did not follow the added track")

    click(browser, browser.find_elements("#session-tracks .remove")[0])  # remove the first track
    wait_until(browser, lambda: len(browser.find_elements("#session-tracks li")) == 1, "track not removed")
    only_other = [r.track_id for r in dashboard_recommender.recommend_for_tracks([other.track_id], 10, alpha=0.5)]
    wait_until(browser, lambda: listed_ids(browser, "#session-recs-list .rec-item") == only_other,
               "recommendations did not follow the removal")

    click(browser, browser.find_element("#session-clear"))
    browser.wait_for_element("#session-empty")


def test_a_listener_can_be_opened_as_a_session(browser, dashboard_recommender):
    listener = dashboard_recommender.random_active_user(seed=5)
    visit(browser, f"/user?id={listener}", "#user-recs-list .rec-item")
    click(browser, browser.find_element("#user-to-session"))
    browser.wait_for_element("#session-recs-list .rec-item")
    assert len(browser.find_elements("#session-tracks li")) == min(
        10, len(dashboard_recommender.user_history(listener, 10)))
    assert query(browser)["mode"] == "session"


# ---------------------------------------------------------------------- Data
def test_data_page_shows_statistics_charts_and_the_manifest(browser, dashboard_recommender):
    stats = dashboard_recommender.manifest["statistics"]
    visit(browser, "/data", "#data-long-tail .main-svg")
    cards = browser.find_element("#data-stats").text
    assert f"{stats['tracks']:,}" in cards and f"{stats['listeners']:,}" in cards
    for graph in ("#data-audio", "#data-tags", "#data-timings"):
        wait_for_element(browser, f"{graph} .main-svg")
    assert len(browser.find_elements("#data-audio .lazy-graph")) == len(stats["audio"])  # a graph per feature
    browser.wait_for_contains_text("#data-manifest", dashboard_recommender.version)
    assert "ingest listening" in browser.find_element("#data-timings").text


def test_a_graph_is_drawn_when_it_comes_into_view(browser):
    driver = browser.driver
    driver.set_window_size(1400, 700)
    try:
        browser.wait_for_page(url=browser.base + "/data", timeout=WAIT)
        browser.wait_for_element("#data-long-tail .main-svg")  # at the top: drawn at once
        browser.wait_for_element("#data-tracks-per-listener .main-svg")
        assert browser.find_elements("#data-timings") == []  # at the bottom: not drawn while nobody looks
        assert browser.find_elements("#data-play-counts") == []  # in a tab not shown
        click(browser, next(tab for tab in browser.find_elements("#data-activity .tab") if tab.text == "Play counts"))
        browser.wait_for_element("#data-play-counts .main-svg")
        driver.execute_script("document.querySelector('#data-manifest').scrollIntoView()")
        browser.wait_for_element("#data-timings .main-svg")
    finally:
        driver.set_window_size(1400, 1000)


# ---------------------------------------------------------------- the shell
def test_navbar_links_every_page_and_unknown_paths_get_the_404_page(browser):
    visit(browser, "/no/such/page", "#not-found")
    names = [link.text for link in browser.find_elements("#app-navbar .nav-link")]
    assert names == ["Discover", "Explain", "α sensitivity", "For you", "Data"]
    browser.find_elements("#app-navbar .nav-link")[4].click()
    browser.wait_for_element("#data-stats")
    assert browser.driver.current_url.endswith("/data")
