"""Security headers on every kind of page, and no inline script anywhere: the Content-Security-Policy
allows scripts from our own origin only, so every behaviour lives in static/js/."""

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)


def _directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: " ".join(part.split()[1:]) for part in policy.split(";") if part.strip()}


def _pages(world):
    ids, tokens = world["ids"], world["tokens"]
    return [  # (role, url, expected status)
        (None, "/login", 200),
        (None, f"/contratar/{tokens['signup']}", 200),
        (None, f"/aceite/{tokens['accept']}", 200),
        (None, "/api/v1/openapi.json", 200),
        (None, "/static/js/app.js", 200),
        (None, "/nao-existe", 404),
        ("manager", "/painel", 200),
        ("manager", f"/clientes/{ids['client_id']}", 200),
        ("manager", f"/clientes/{ids['client_id']}/editar", 200),
        ("manager", f"/links-de-contratacao/{ids['link_id']}", 200),
        ("manager", "/meus-dados", 200),
        ("manager", "/meus-dados/pagamento", 200),
        ("manager", f"/faturas/{ids['invoice_id']}", 200),
        ("client", "/cliente", 200),
        ("admin", "/admin/", 200),
        ("admin", "/admin/users/", 200),
        ("admin", f"/admin/users/edit/?id={world['users']['manager'].id}", 200),
        ("admin", "/admin/plans/new/", 200),
        ("finance", "/admin/invoices/", 200),
        ("finance", f"/admin/invoices/details/?id={ids['invoice_id']}", 200),
        ("finance", "/admin/payments/?flt0_0=pending_approval", 200),
    ]


def _get(client, login_as, world, role, url):
    if role is not None:
        login_as(world["users"][role])
    return client.get(url)


def test_every_kind_of_page_carries_the_security_headers(app, world, client, login_as):
    for role, url, status in _pages(world):
        response = _get(client, login_as, world, role, url)
        assert response.status_code == status, (role, url, response.status_code)
        csp = _directives(response)
        assert csp["script-src"] == "'self'", (url, csp)  # no Stripe keys configured here
        assert csp["frame-ancestors"] == "'none'", url
        assert csp["object-src"] == "'none'" and csp["base-uri"] == "'self'", url
        assert response.headers["X-Frame-Options"] == "DENY", url
        assert response.headers["X-Content-Type-Options"] == "nosniff", url
        expected_referrer = "no-referrer" if "/contratar/" in url or "/aceite/" in url else "strict-origin-when-cross-origin"
        assert response.headers["Referrer-Policy"] == expected_referrer, url
        assert "Strict-Transport-Security" not in response.headers, url  # plain http in development
        response.close()


def test_pages_rendered_for_each_role_have_no_inline_script_or_handler(app, world, client, login_as):
    """What the browser gets, Flask-Admin's own templates included (lists with actions and filters,
    details, forms)."""
    for role, url, _status in _pages(world):
        response = _get(client, login_as, world, role, url)
        html = response.get_data(as_text=True)
        response.close()
        if response.mimetype != "text/html":
            continue
        assert not INLINE_SCRIPT.findall(html), (url, INLINE_SCRIPT.findall(html))
        assert not INLINE_HANDLER.findall(html), (url, INLINE_HANDLER.findall(html)[:3])


def test_no_template_contains_an_inline_script_or_handler():
    offenders = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        offenders += [f"{path.relative_to(TEMPLATES)}: {m}" for m in INLINE_SCRIPT.findall(text)]
        offenders += [f"{path.relative_to(TEMPLATES)}: {m[:80]}" for m in INLINE_HANDLER.findall(text)]
    assert not offenders, "\n".join(offenders)


def test_hsts_only_in_production(app, client, monkeypatch):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    monkeypatch.setitem(app.config, "PRODUCTION", True)
    hsts = client.get("/login").headers["Strict-Transport-Security"]
    assert re.fullmatch(r"max-age=(\d+); includeSubDomains", hsts)
    assert int(hsts.split("=")[1].split(";")[0]) >= 180 * 24 * 3600


@pytest.mark.parametrize("path", ["/redefinir-senha/nao-e-um-token", "/primeiro-acesso/nao-e-um-token"])
def test_pages_whose_url_is_a_credential_send_no_referrer(client, db, path):
    assert client.get(path).headers["Referrer-Policy"] == "no-referrer"


def test_stripe_hosts_are_allowed_only_when_stripe_is_configured(app, client, db, monkeypatch):
    monkeypatch.setitem(app.config, "STRIPE_PUBLISHABLE_KEY", "pk_test_x")
    csp = _directives(client.get("/login"))
    assert csp["script-src"] == "'self' https://js.stripe.com"
    assert "https://js.stripe.com" in csp["frame-src"] and "https://api.stripe.com" in csp["connect-src"]
