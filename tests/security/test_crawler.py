"""A crawler that would have caught the 5xx of issue 8: it logs in as each role, visits every GET
page of ``app.url_map`` (ids of real rows, then hostile ids) and every page linked from them, again
with hostile query strings, and every filter of every staff list with garbage values. No answer may
be a 5xx.

One page per "shape" (path and the names of its query parameters) keeps it quick: sorting by each
column of a list is one shape, not one page per column."""

import re
import time
from html import unescape
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import pytest

#: Path values a URL may carry instead of a real id or token.
HOSTILE_PATH_VALUES = ["99999999999999999999", "-1", "1e400", "%00", quote("' OR 1=1--"), "x" * 2000]

#: Query strings added to every page (one request each); NUL bytes are refused before any view runs,
#: so one page of each kind is enough for them (NUL_QUERY).
HOSTILE_QUERIES = [
    {"page": "-1", "page_size": "-5", "per_page": "99999999999999999999", "sort": "99999999999999999999",
     "desc": "2", "id": "99999999999999999999", "month": "9999-99", "q": "' OR 1=1--", "search": "%",
     "tab": "<script>alert(1)</script>", "status": "garbage", "flt0_0": "garbage", "flt1_1": "99999999999999999999"},
    {"page": "1e400", "per_page": "1e400", "sort": "garbage", "id": "1e400", "q": "x" * 5000, "search": "' OR 1=1--",
     "month": "1e400", "flt0_0": "1e400", "flt1_1": "-1", "flt2_2": "2024-13-45"},
]
NUL_QUERY = {"q": "abc\x00def", "search": "\x00", "id": "1\x00"}

#: Garbage for each filter of each staff list.
FILTER_GARBAGE = ["garbage", "1e400", "99999999999999999999", "-1", "2024-13-45", "2024-01-01 to x", "' OR 1=1--",
                  "", "PENDING_APPROVAL", "pending_approval"]

#: Links never followed: they change state or leave the session.
SKIP = re.compile(r"^/(logout|static/|admin/static/)|/ajax/")
#: Endpoints that render a PDF (slow): visited once, never with hostile query strings.
PDF = re.compile(r"/pdf/?$")
HREF = re.compile(r'href="([^"#]+)"')
MAX_PAGES_PER_ROLE = 250


#: Query parameters that only order or page a list: a link that differs by them is the same page.
ORDERING = {"sort", "desc", "page", "page_size"}


def _shape(url: str) -> tuple:
    parts = urlsplit(url)
    path = re.sub(r"/\d+(?=/|$)", "/<n>", parts.path)
    keys = {k for k, _v in parse_qsl(parts.query, keep_blank_values=True)} - ORDERING
    return path, tuple(sorted(keys))


def _path_value(rule, name: str, world) -> str:
    if name == "token":
        return world["tokens"]["accept" if "aceite" in rule.rule else "signup"]
    if name == "lang":
        return "en"
    return str(world["ids"].get(name, world["ids"]["client_id"]))


def _get_rules(app):
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.endpoint.endswith("static") and "/ajax/" not in rule.rule:
            yield rule


def _seed_urls(app, world) -> list[str]:
    urls = []
    for rule in _get_rules(app):
        values = {name: _path_value(rule, name, world) for name in rule.arguments}
        with app.test_request_context():
            path = rule.build(values, append_unknown=False)[1]
        urls.append(path)
    return urls


def _hostile_path_urls(app) -> list[str]:
    urls = []
    for rule in _get_rules(app):
        if not rule.arguments:
            continue
        for value in HOSTILE_PATH_VALUES:
            path = rule.rule
            for name in rule.arguments:
                path = re.sub(r"<(?:[^:<>]+:)?" + name + r">", value, path)
            urls.append(path)
    return urls


def _links(html: str) -> list[str]:
    return [unescape(href) for href in HREF.findall(html)]


class Crawl:
    def __init__(self, client, role):
        self.client, self.role = client, role
        self.failures: list[str] = []
        self.requests = 0

    def get(self, url: str):
        self.requests += 1
        response = self.client.get(url)
        if response.status_code >= 500:
            self.failures.append(f"{self.role} GET {url[:300]} → {response.status_code}")
        return response


def _admin_filter_urls(app) -> list[str]:
    urls = []
    admin = app.extensions["revenda_admin"]
    for view in admin._views:
        if not getattr(view, "_filter_args", None):
            continue
        with app.test_request_context():
            base = view.get_url(f"{view.endpoint}.index_view")
        for garbage in FILTER_GARBAGE:
            query = {f"flt{pos}_{key}": garbage for pos, key in enumerate(view._filter_args)}
            urls.append(f"{base}?{urlencode(query)}")
    return urls


@pytest.mark.parametrize("role", ["manager", "accountant", "client", "finance", "admin"])
def test_no_page_answers_5xx_to_any_role(app, world, login_as, client, role):
    started = time.monotonic()
    login_as(world["users"][role])
    crawl = Crawl(client, role)
    queue = _seed_urls(app, world)
    seen, visited = set(), []
    while queue and len(visited) < MAX_PAGES_PER_ROLE:
        url = queue.pop(0)
        if SKIP.search(urlsplit(url).path) or _shape(url) in seen or not url.startswith("/"):
            continue
        seen.add(_shape(url))
        response = crawl.get(url)
        visited.append(url)
        if response.status_code == 200 and response.mimetype == "text/html":
            queue += _links(response.get_data(as_text=True))
    hostile_paths = set()
    for url in visited:
        path = urlsplit(url).path
        if PDF.search(path) or path in hostile_paths:
            continue
        hostile_paths.add(path)
        for query in HOSTILE_QUERIES:
            crawl.get(path + "?" + urlencode(query))
        existing = parse_qsl(urlsplit(url).query, keep_blank_values=True)
        if existing:  # the page's own parameters (a filter, a tab) with values it never offers
            crawl.get(path + "?" + urlencode([(k, "99999999999999999999") for k, _v in existing]))
            crawl.get(path + "?" + urlencode([(k, "garbage' OR 1=1") for k, _v in existing]))
    for url in visited[:5]:
        crawl.get(urlsplit(url).path + "?" + urlencode(NUL_QUERY))
    for url in _hostile_path_urls(app):
        crawl.get(url)
    if role == "admin":  # every staff view, finance's included
        for url in _admin_filter_urls(app):
            crawl.get(url)
    elapsed = time.monotonic() - started
    print(f"{role}: {len(visited)} pages, {crawl.requests} requests in {elapsed:.1f}s")
    assert len(visited) >= 5, visited
    assert not crawl.failures, "\n".join(crawl.failures)
