"""Every Dash callback of the app fuzzed with hypothesis, through the real ``/_dash-update-component`` route.

The app is imported in this process and driven with Flask's test client over
the session's demo artifact set, so the whole Dash machinery runs (payload
parsing, ``ctx.triggered``, pattern-matching ids, the Pages router calling
each page's ``layout`` with the URL's query string) without a server. The
callbacks are discovered from ``app.callback_map``: a callback added later is
fuzzed too.

Two kinds of payload:

* what the browser can send -- each component's own JSON type (a string from
  a search box or a URL, a number in a slider's range, one of a radio group's
  options, a list of ids from the session store) with any content: real ids
  and unknown ones, huge and empty strings, regex and HTML characters, lone
  surrogates, query strings with every parameter wrong. For these the answer
  is 200 (an update) or 204 (nothing to update), never a 500, and nothing from
  the input can be rendered as HTML: no component has
  ``dangerously_allow_html``, no ``Markdown`` or ``Iframe`` carries input
  text, no ``href``/``src`` is a ``javascript:``/``data:`` URL, and no figure
  carries input text that holds markup (Plotly renders a subset of HTML);
* what only a hand-made request can send (lists where strings belong, NaN,
  integers beyond 2**53...). That these never get a 500 either is specified
  below too, marked as an expected failure until the dashboard handles them.

The α sweep is also called directly with anything its page's store could
hold (the layout draws it from the URL, the sync callback from the controls).
Examples are derandomised and counted so that the module
runs in well under a minute.
"""
from __future__ import annotations

import json
import math
import os
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

PER_CALLBACK = settings(max_examples=30, derandomize=True, deadline=None, database=None,
                        suppress_health_check=list(HealthCheck))
#: Hand-made payloads: fewer examples and no shrinking, so a known failure costs seconds, not minutes.
CRAFTED = settings(PER_CALLBACK, max_examples=15, phases=[Phase.explicit, Phase.generate], report_multiple_bugs=False)
SPECIAL = ".*+?^$()[]{}|\\<>&\"'/=;:%#!`~-_ \t\n\x00"
MARKUP = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<b>bold</b>",
          "<a href='javascript:alert(1)'>x</a>", "javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
          "[x](javascript:alert(1))", "{{7*7}}"]
#: Paths as ``window.location.pathname`` gives them: always from the root.
PAGES = ["/", "/alpha", "/explain", "/user", "/data", "/404", "/no/such/page", "//", "/..", "/alpha/", "/%3Cb%3E",
         "/" + "a" * 3000]
QUERY_KEYS = ["track", "alpha", "k", "method", "seed", "id", "mode", "x", ""]


# --------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------

def strategies(recommender, crafted: bool) -> dict:
    """Value strategies by input property, over the ids of ``recommender``.

    ``crafted=False``: the JSON types each component really sends (a string
    from a search box or a URL, a finite number from a slider, a list of ids
    from the session store...) with any content. ``crafted=True``: any JSON
    value anywhere, as a hand-made request can carry (lists for strings, NaN,
    numbers beyond 2**53...).
    """
    tracks = recommender.tracks["track_id"].head(50).tolist()
    users = [recommender.users.user_id(c) for c in range(min(len(recommender.users), 20))]
    text = st.one_of(st.text(max_size=30), st.text(alphabet=st.sampled_from(SPECIAL + "aeZ0"), max_size=30),
                     st.sampled_from(MARKUP + ["", " ", "\ud800", "a" * 5000, "İ", "%", "+", "&amp;"]))
    number = st.one_of(st.floats(-1e15, 1e15), st.integers(-10, 100), st.integers(-(2 ** 53), 2 ** 53),
                       st.sampled_from([0, 1, 0.5, 0.05, -0.0]))
    if crafted:
        number = st.one_of(number, st.floats(allow_nan=True, allow_infinity=True),
                           st.integers(-(10 ** 30), 10 ** 30))
    ids = st.one_of(st.sampled_from(tracks), st.sampled_from(users), text)
    scalar = st.one_of(st.none(), number, ids)
    param = st.one_of(ids, number.map(str), st.sampled_from(["nan", "inf", "-1", "1e309", "9" * 5000, "0x10",
                                                             "hybrid", "content", "collaborative", "session",
                                                             "listener", "0.3", "10", " 7 "]))
    query = st.one_of(
        st.dictionaries(st.sampled_from(QUERY_KEYS), param, max_size=4).map(lambda d: "?" + urlencode(d)),
        st.dictionaries(st.sampled_from(QUERY_KEYS), param, max_size=3).map(
            lambda d: "?" + "&".join(f"{k}={v}" for k, v in d.items())),  # not encoded, as a person types it
        text.map(lambda t: "?" + t), st.just(""))
    values = {
        "search": query,
        "pathname": st.one_of(st.sampled_from(PAGES), text.map(lambda t: "/" + t)),
        "value": scalar,
        "search_value": st.one_of(text, st.none()),
        "n_clicks": st.one_of(st.none(), st.integers(0, 10 ** 6)),
        "data": st.one_of(st.none(), st.lists(st.sampled_from(tracks), max_size=60), st.lists(ids, max_size=4),
                          st.fixed_dictionaries({"track": st.one_of(st.none(), ids), "k": st.integers()})),
    }
    if crafted:
        junk = st.one_of(st.booleans(), st.lists(scalar, max_size=3),
                         st.dictionaries(st.sampled_from(["track", "k", "x", ""]), scalar, max_size=3))
        values = {name: st.one_of(strategy, scalar, junk) for name, strategy in values.items()}
    values["any"] = st.one_of(*values.values())
    return values


# --------------------------------------------------------------------------
# The app in this process
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def app(dashboard_artifacts):
    """The dashboard's Dash app over the session's artifacts, with exceptions raised into the test."""
    from dashboard.access import RecommenderCache

    saved = {name: os.environ.get(name) for name in ("ARTIFACTS_DIR",)}
    os.environ["ARTIFACTS_DIR"] = str(dashboard_artifacts)
    import dashboard.access as access
    import dashboard.app as dashboard_app

    previous_cache = access._cache
    access._cache = RecommenderCache(dashboard_artifacts)  # whatever the app was imported with
    propagate = dashboard_app.server.config.get("PROPAGATE_EXCEPTIONS")
    dashboard_app.server.config["PROPAGATE_EXCEPTIONS"] = True  # a callback error fails with its traceback
    try:
        assert dashboard_app.server.test_client().get("/").status_code == 200  # sets up the Pages router
        yield dashboard_app.app
    finally:
        dashboard_app.server.config["PROPAGATE_EXCEPTIONS"] = propagate
        access._cache = previous_cache
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def components_by_id(app) -> dict:
    """Every component with an id in the app shell and in each page's layout (drawn without URL arguments)."""
    import dash

    found = {}
    layouts = [app.layout] + [page["layout"] for page in dash.page_registry.values()]
    for layout in layouts:
        layout = layout() if callable(layout) else layout
        for component in layout._traverse():
            if isinstance(getattr(component, "id", None), str):
                found[component.id] = component
    return found


def browser_value(component, prop: str, values: dict):
    """What the browser can send for ``component.prop``: a slider sends a number in its range, a radio
    group one of its options; otherwise the property's strategy."""
    kind = type(component).__name__ if component is not None else None
    if kind == "Slider" and prop == "value":
        return st.one_of(st.none(), st.floats(component.min, component.max), st.integers(component.min, component.max))
    if kind == "RadioItems" and prop == "value":
        return st.sampled_from([o["value"] for o in component.options])
    return values.get(prop, values["any"])


def server_callbacks(app) -> dict:
    """``{output spec: entry}`` of every callback that runs on the server (clientside ones have no function)."""
    return {key: entry for key, entry in app.callback_map.items() if entry.get("callback") is not None}


def outputs_of(key: str):
    def one(spec):
        component, prop = spec.rsplit(".", 1)
        return {"id": component, "property": prop}
    return [one(s) for s in key.strip(".").split("...")] if key.startswith("..") else one(key)


def payload(key: str, entry: dict, values: dict, trigger: int, removed: list) -> dict:
    """The JSON body the Dash renderer posts for one callback call."""
    def item(spec, value):
        if spec["id"].startswith("{"):  # a pattern-matching ALL input: one entry per matching component
            pattern = json.loads(spec["id"])
            return [{"id": {**pattern, "index": index}, "property": spec["property"], "value": value}
                    for index in removed]
        return {"id": spec["id"], "property": spec["property"], "value": value}

    inputs = [item(spec, values[f"{spec['id']}.{spec['property']}"]) for spec in entry["inputs"]]
    state = [item(spec, values[f"{spec['id']}.{spec['property']}"]) for spec in entry["state"]]
    trigger_spec = entry["inputs"][trigger]
    if trigger_spec["id"].startswith("{"):
        changed = [json.dumps({**json.loads(trigger_spec["id"]), "index": removed[0]}, separators=(",", ":"))
                   + f".{trigger_spec['property']}"] if removed else []
    else:
        changed = [f"{trigger_spec['id']}.{trigger_spec['property']}"]
    return {"output": key, "outputs": outputs_of(key), "inputs": inputs, "state": state, "changedPropIds": changed}


# --------------------------------------------------------------------------
# What must never be in an answer
# --------------------------------------------------------------------------

def texts_in(value) -> list[str]:
    """Every string inside a JSON value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in texts_in(v)]
    if isinstance(value, list):
        return [t for v in value for t in texts_in(v)]
    return []


def assert_nothing_rendered_as_html(answer, sent: list[str]) -> None:
    """No input text reaches a component or prop that a browser would interpret as markup or code."""
    markup = [t for t in sent if len(t) >= 3 and ("<" in t or "javascript:" in t.lower() or "](" in t)]

    def walk(node):
        if isinstance(node, list):
            for child in node:
                walk(child)
            return
        if not isinstance(node, dict):
            return
        props = node.get("props") if isinstance(node.get("props"), dict) else None
        if props is not None and "type" in node and "namespace" in node:
            assert not props.get("dangerously_allow_html"), f"{node['type']} with dangerously_allow_html"
            assert not (node["type"] == "Iframe" and props.get("srcDoc")), "an Iframe with srcDoc"
            if node["type"] in ("Markdown", "Graph"):
                shown = json.dumps(props, ensure_ascii=False)
                assert not [t for t in markup if t in shown], f"input markup inside a {node['type']}"
            for name in ("href", "src", "action", "formAction"):
                url = props.get(name)
                if isinstance(url, str):
                    scheme = "".join(url.split()).lower()
                    assert not scheme.startswith(("javascript:", "data:", "vbscript:")), f"{name}={url!r}"
        for child in node.values():
            walk(child)

    walk(answer)


# --------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------

def test_the_app_has_the_callbacks_this_module_fuzzes(app):
    keys = server_callbacks(app)
    assert len(keys) >= 10
    assert any("_pages_content.children" in k for k in keys)  # the router, which calls every page's layout
    # every callback answers in the request: no background jobs, polls or job cache
    assert all(entry["background"] is None for entry in keys.values())


def fuzz_every_callback(app, recommender, crafted: bool) -> tuple[dict, dict]:
    """Fuzz each callback in turn; ``(examples tried per callback, failure per callback)``."""
    values = strategies(recommender, crafted)
    components = components_by_id(app)
    client = app.server.test_client()
    tracks = recommender.tracks["track_id"].head(5).tolist()
    tried, failures = {}, {}
    for key, entry in sorted(server_callbacks(app).items()):
        specs = {f"{s['id']}.{s['property']}": values.get(s["property"], values["any"]) if crafted else
                 browser_value(components.get(s["id"]), s["property"], values)
                 for s in entry["inputs"] + entry["state"]}

        @settings(CRAFTED if crafted else PER_CALLBACK)
        @given(data=st.data())
        def fuzz(data):
            drawn = {spec: data.draw(strategy, label=spec) for spec, strategy in specs.items()}
            trigger = data.draw(st.integers(0, len(entry["inputs"]) - 1), label="trigger")
            removed = data.draw(st.lists(st.one_of(st.sampled_from(tracks), st.text(max_size=5)), max_size=3,
                                         unique=True), label="pattern-matching indices")
            body = payload(key, entry, drawn, trigger, removed)
            note(json.dumps(body, ensure_ascii=False)[:2000])
            response = client.post("/_dash-update-component", data=json.dumps(body),
                                   content_type="application/json")
            assert response.status_code in (200, 204), response.get_data(as_text=True)[:2000]
            if response.status_code == 200:
                assert_nothing_rendered_as_html(response.get_json(), texts_in(drawn))
            tried[key] = tried.get(key, 0) + 1

        try:
            fuzz()
        except Exception as exc:  # noqa: BLE001 - collected so every callback is fuzzed and all are reported
            failures[key] = f"{type(exc).__name__}: {exc}"[:3000]
    return tried, failures


def test_every_callback_answers_what_the_browser_can_send_without_an_error_or_markup(app, dashboard_recommender):
    tried, failures = fuzz_every_callback(app, dashboard_recommender, crafted=False)
    assert failures == {}
    assert len(tried) == len(server_callbacks(app)) and min(tried.values()) >= 10


def test_every_callback_answers_any_hand_made_payload_without_an_error(app, dashboard_recommender):
    _, failures = fuzz_every_callback(app, dashboard_recommender, crafted=True)
    assert failures == {}, "\n\n".join(f"{key}:\n{failure}" for key, failure in failures.items())


def test_the_router_renders_every_page_for_any_query_string(app, dashboard_recommender):
    """Every page's ``layout(**query)``: the parameters a shared or mistyped link can carry."""
    client = app.server.test_client()
    params = strategies(dashboard_recommender, crafted=False)["search"]
    key = next(k for k in server_callbacks(app) if "_pages_content.children" in k)

    @settings(PER_CALLBACK, max_examples=60)
    @given(path=st.sampled_from(PAGES[:6]), search=params)
    def fuzz(path, search):
        body = {"output": key, "outputs": outputs_of(key), "state": [],
                "inputs": [{"id": "_pages_location", "property": "pathname", "value": path},
                           {"id": "_pages_location", "property": "search", "value": search}],
                "changedPropIds": ["_pages_location.pathname"]}
        response = client.post("/_dash-update-component", data=json.dumps(body), content_type="application/json")
        assert response.status_code == 200, response.get_data(as_text=True)[:2000]
        assert_nothing_rendered_as_html(response.get_json(), texts_in(search))

    fuzz()


def sweep_failures(recommender, requests, crafted: bool = False) -> list[str]:
    """Call the α sweep's function with each drawn view state; the failures."""
    from dashboard.pages import alpha

    failures = []

    @(settings(CRAFTED) if crafted else settings(PER_CALLBACK, max_examples=30))
    @given(request=requests)
    def fuzz(request):
        json.dumps(alpha.sweep(request), default=_plotly_json)

    try:
        fuzz()
    except Exception as exc:  # noqa: BLE001 - reported below
        failures.append(f"{type(exc).__name__}: {exc}"[:3000])
    return failures


def test_the_alpha_sweep_answers_any_request_its_page_can_store(app, dashboard_recommender):
    tracks = dashboard_recommender.tracks["track_id"].head(20).tolist()
    values = strategies(dashboard_recommender, crafted=False)
    requests = st.one_of(st.none(), st.fixed_dictionaries({"track": st.sampled_from(tracks), "k": st.integers(5, 50)}),
                         st.fixed_dictionaries({"track": st.one_of(st.none(), values["search_value"]),
                                                "k": st.integers(-100, 10 ** 6)}))
    assert sweep_failures(dashboard_recommender, requests) == []


def test_the_alpha_sweep_answers_any_hand_made_request(app, dashboard_recommender):
    values = strategies(dashboard_recommender, crafted=True)
    assert sweep_failures(dashboard_recommender, st.one_of(values["data"], values["any"]), crafted=True) == []


def _plotly_json(value):
    if hasattr(value, "to_plotly_json"):
        return value.to_plotly_json()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def test_hand_made_callback_names_do_not_grow_the_metrics(app):
    client = app.server.test_client()
    known = len(server_callbacks(app))
    propagate = app.server.config.get("PROPAGATE_EXCEPTIONS")
    app.server.config["PROPAGATE_EXCEPTIONS"] = False  # Dash refuses these requests; the answer is not the point
    try:
        for n in range(50):
            client.post("/_dash-update-component", data=json.dumps({"output": f"made-up-{n}.children"}),
                        content_type="application/json")
    finally:
        app.server.config["PROPAGATE_EXCEPTIONS"] = propagate
    metrics = client.get("/metrics").get_data(as_text=True)
    labels = {line.split('callback="', 1)[1].split('"', 1)[0] for line in metrics.splitlines()
              if line.startswith("dashboard_callback_duration_seconds_count{")}
    assert len(labels) <= known + 1, f"{len(labels)} callback labels for {known} callbacks"
