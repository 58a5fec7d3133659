"""THE access matrix: every panel, admin and API route × every role → the expected status.

Each row is ``(method, url_template, statuses)`` with one status per role, in the order of ROLES.
URL templates take the ids of the fixtures below: ``{client_id}``, ``{email_id}``, ``{token_id}`` are
rows of ``partner`` (so for ``other_manager`` they are another partner's ids → 404), and
``{other_client_id}`` is a client of ``other_partner``. A row may carry form data (or JSON for the API).

The domains keep their own tables (same roles, their own fixtures): tests/contracts/access_routes.py,
tests/certificates/access_routes.py, tests/billing/access_routes.py. Each exports ``ACCESS_ROUTES``.

Adding a route? Add its rows here (MATRIX, or ADMIN_VIEWS for a Flask-Admin view) or to its domain's
table. The completeness test fails for any (endpoint, method) of the app that no table reaches, unless
it is static or in PUBLIC_ROUTES.
"""

import csv
import io
from dataclasses import dataclass, field

import pytest
from werkzeug.exceptions import MethodNotAllowed, NotFound

from core.audit import AuditEvent
from core.db import db as _db
from core.mail import OutboxEmail
from core.permissions import ROLE_PERMISSIONS, Role
from partner.models import PartnerEmail
from partner.services import create_api_token
from tests.access_common import ROLES, admin_pages, dummy_path, staff_statuses
from tests.billing import access_routes as billing_routes
from tests.certificates import access_routes as certificate_routes
from tests.contracts import access_routes as contract_routes
from tests.fiscal import access_routes as fiscal_routes
from tests.orders import access_routes as order_routes

#: The domains' tables; with MATRIX below they must reach every route of the app.
DOMAIN_TABLES = {
    "tests/contracts/access_routes.py": contract_routes.ACCESS_ROUTES,
    "tests/certificates/access_routes.py": certificate_routes.ACCESS_ROUTES,
    "tests/billing/access_routes.py": billing_routes.ACCESS_ROUTES,
    "tests/fiscal/access_routes.py": fiscal_routes.ACCESS_ROUTES,
    "tests/orders/access_routes.py": order_routes.ACCESS_ROUTES,
}
#: Routes no row needs: static files.
NOT_IN_MATRIX = {"static", "admin.static"}
#: Genuinely public routes: no partner data and the same answer for every role, so no row is required
#: (rows may still exist). Keep this list short; anything that reads or changes a partner's rows does
#: not belong here.
PUBLIC_ROUTES = {
    "accounts.healthz",  # liveness probe: {"status": "ok"}, nothing else
    "partner_api.openapi",  # the published API description, the same document for everyone
    "integration_api.ping",  # liveness for the clients' software, no key needed
    # the e-mailed export link: authorized by its signed token alone, which names one export of one client
    # and stops working when it expires (tests/fiscal/test_exports.py)
    "fiscal.download_export",
    # Stripe's callback: no login or role, authenticated by the Stripe-Signature header alone (400
    # without it: rows in tests/billing/access_routes.py; signature tests in tests/billing/test_stripe.py).
    "billing.stripe_webhook",
}


@dataclass(frozen=True)
class Row:
    method: str
    url: str
    statuses: tuple[int, ...]
    data: dict | None = field(default=None)
    json: dict | None = field(default=None)

    def __post_init__(self):
        assert len(self.statuses) == len(ROLES), f"{self.method} {self.url}: one status per role"


def R(method, url, *statuses, data=None, json=None):
    return Row(method, url, tuple(statuses), data, json)


#                                                              anon admin fin  mgr  other acct client
MATRIX = [
    # -- accounts ------------------------------------------------------------------------------------
    R("GET", "/",                                               302, 302, 302, 302, 302, 302, 302),
    R("GET", "/healthz",                                        200, 200, 200, 200, 200, 200, 200),
    R("GET", "/login",                                          200, 302, 302, 302, 302, 302, 302),
    R("POST", "/login",                                         401, 401, 401, 401, 401, 401, 401,
      data={"email": "ninguem@nada.example", "password": "errada"}),
    R("POST", "/logout",                                        302, 302, 302, 302, 302, 302, 302),
    R("GET", "/senha",                                          302, 200, 200, 200, 200, 200, 200),
    R("POST", "/senha",                                         302, 422, 422, 422, 422, 422, 422, data={}),
    R("GET", "/esqueci-senha",                                  200, 200, 200, 200, 200, 200, 200),
    R("POST", "/esqueci-senha",                                 302, 302, 302, 302, 302, 302, 302,
      data={"email": "ninguem@nada.example"}),
    R("GET", "/redefinir-senha/nao-e-um-token",                 400, 400, 400, 400, 400, 400, 400),
    R("POST", "/redefinir-senha/nao-e-um-token",                400, 400, 400, 400, 400, 400, 400, data={}),
    R("GET", "/primeiro-acesso/nao-e-um-token",                 400, 400, 400, 400, 400, 400, 400),
    R("POST", "/primeiro-acesso/nao-e-um-token",                400, 400, 400, 400, 400, 400, 400, data={}),
    R("GET", "/confirmar-email/nao-e-um-token",                 400, 400, 400, 400, 400, 400, 400),
    R("POST", "/confirmar-email/nao-e-um-token",                400, 400, 400, 400, 400, 400, 400, data={}),
    R("POST", "/idioma/en",                                     302, 302, 302, 302, 302, 302, 302),
    # -- partner panel -------------------------------------------------------------------------------
    R("GET", "/painel",                                         302, 403, 403, 200, 200, 200, 403),
    R("GET", "/clientes/novo",                                  302, 403, 403, 200, 200, 403, 403),
    R("POST", "/clientes/novo",                                 302, 403, 403, 422, 422, 403, 403, data={}),
    R("GET", "/clientes/{client_id}",                           302, 403, 403, 200, 404, 200, 403),
    R("GET", "/clientes/{other_client_id}",                     302, 403, 403, 404, 200, 404, 403),
    R("GET", "/clientes/nao-e-numero",                          302, 403, 403, 404, 404, 404, 403),
    R("GET", "/clientes/{client_id}/editar",                    302, 403, 403, 200, 404, 403, 403),
    R("POST", "/clientes/{client_id}/editar",                   302, 403, 403, 422, 404, 403, 403, data={}),
    R("POST", "/clientes/{other_client_id}/editar",             302, 403, 403, 404, 422, 403, 403, data={}),
    R("POST", "/clientes/{client_id}/acessar-software",         302, 403, 403, 302, 404, 403, 403),
    R("POST", "/clientes/{other_client_id}/acessar-software",   302, 403, 403, 404, 302, 403, 403),
    R("GET", "/meus-dados",                                     302, 403, 403, 200, 200, 403, 403),
    R("POST", "/meus-dados",                                    302, 403, 403, 422, 422, 403, 403, data={}),
    R("POST", "/meus-dados/emails",                             302, 403, 403, 422, 422, 403, 403,
      data={"email": ""}),
    R("POST", "/meus-dados/emails/{email_id}/remover",          302, 403, 403, 302, 404, 403, 403),
    R("POST", "/meus-dados/senha",                              302, 403, 403, 422, 422, 403, 403, data={}),
    R("POST", "/meus-dados/api/tokens",                         302, 403, 403, 422, 422, 403, 403,
      data={"name": ""}),
    R("POST", "/meus-dados/api/tokens/{token_id}/revogar",      302, 403, 403, 302, 404, 403, 403),
    R("GET", "/cliente",                                        302, 403, 403, 403, 403, 403, 200),
    R("GET", "/software-demo",                                  400, 400, 400, 400, 400, 400, 400),
    # -- partner API (a manager role sends its partner's token; nobody else has one) ----------------------
    R("GET", "/api/v1/openapi.json",                            200, 200, 200, 200, 200, 200, 200),
    R("GET", "/api/v1/plans",                                   401, 401, 401, 200, 200, 401, 401),
    R("GET", "/api/v1/clients",                                 401, 401, 401, 200, 200, 401, 401),
    R("POST", "/api/v1/clients",                                401, 401, 401, 422, 422, 401, 401, json={}),
    R("GET", "/api/v1/clients/{client_id}",                     401, 401, 401, 200, 404, 401, 401),
    R("GET", "/api/v1/clients/{other_client_id}",               401, 401, 401, 404, 200, 401, 401),
    R("PATCH", "/api/v1/clients/{client_id}",                   401, 401, 401, 200, 404, 401, 401, json={}),
    R("PATCH", "/api/v1/clients/{other_client_id}",             401, 401, 401, 404, 200, 401, 401, json={}),
    R("GET", "/admin/",                                         302, 200, 200, 403, 403, 403, 403),
]

# -- staff admin (Flask-Admin): every view the same way -------------------------------------------------
# (endpoint, id placeholder, roles that may use it, read-only view?)
ADMIN_VIEWS = [
    ("software", "{software_id}", {"admin"}, False),
    ("plans", "{plan_id}", {"admin"}, False),
    ("partners", "{partner_id}", {"admin"}, False),
    ("users", "{user_id}", {"admin"}, False),
    ("audit", "{audit_id}", {"admin"}, True),
    ("outbox", "{outbox_id}", {"admin", "finance"}, True),
]


def _admin_rows(view, id_placeholder, allowed, read_only):
    """Every page of the view; anonymous → login (302), staff not ``allowed`` and everyone else 403."""
    pages = admin_pages(view, id_placeholder, can_create=not read_only, can_edit=not read_only)
    return [Row(method, url, tuple(staff_statuses(ok, allowed)[role] for role in ROLES), data)
            for method, url, ok, data in pages]


MATRIX += [row for spec in ADMIN_VIEWS for row in _admin_rows(*spec)]

#: This table's routes, in the shape of the domains' ``ACCESS_ROUTES``.
ACCESS_ROUTES: list[tuple[str, str]] = [(row.method, row.url) for row in MATRIX]


# -- fixtures -------------------------------------------------------------------------------------------
# Only what a case uses is created (the ids of its URL, the user of its role): 750 cases stay quick.

ROLE_FIXTURES = {"admin": "admin_user", "finance": "finance_user", "manager": "manager",
                 "other_manager": "other_manager", "accountant": "accountant", "client": "client_user"}


def _linked_email(request):
    linked = PartnerEmail(partner_id=request.getfixturevalue("partner").id, email="contabil@revenda-a.example")
    _db.session.add(linked)
    _db.session.flush()
    return linked.id


def _outbox_email(request):
    outbox = OutboxEmail(to="alguem@example.com", subject="Teste", body_text="Olá")
    _db.session.add(outbox)
    _db.session.flush()
    return outbox.id


def _audit_event(request):
    client_row = request.getfixturevalue("client_row")
    event = AuditEvent(action="test.event", object_type="client", object_id=client_row.id, client_id=client_row.id)
    _db.session.add(event)
    _db.session.flush()
    return event.id


ID_MAKERS = {
    "client_id": lambda r: r.getfixturevalue("client_row").id,
    "other_client_id": lambda r: r.getfixturevalue("other_client").id,
    "email_id": _linked_email,
    "token_id": lambda r: create_api_token(r.getfixturevalue("partner"), "Matriz")[0].id,
    "software_id": lambda r: r.getfixturevalue("plan").software_id,
    "plan_id": lambda r: r.getfixturevalue("plan").id,
    "partner_id": lambda r: r.getfixturevalue("partner").id,
    "user_id": lambda r: r.getfixturevalue("manager").id,
    "audit_id": _audit_event,
    "outbox_id": _outbox_email,
}


class LazyIds(dict):
    """``url.format_map(ids)`` creates only the rows the URL names."""

    def __init__(self, request):
        super().__init__()
        self.request = request

    def __missing__(self, key):
        self[key] = ID_MAKERS[key](self.request)
        return self[key]


@pytest.fixture
def ids(db, request):
    return LazyIds(request)


@pytest.fixture
def as_role(db, request, login_as, client):
    """Log the test client in as ``role``; returns it and the API headers (a manager sends its token)."""

    def login(role, url):
        headers = {}
        if role == "anonymous":
            return client, headers
        user = request.getfixturevalue(ROLE_FIXTURES[role])
        login_as(user)
        if url.startswith("/api/") and role in ("manager", "other_manager"):
            _token, plaintext = create_api_token(user.partner, "Matriz")
            headers["Authorization"] = f"Bearer {plaintext}"
        return client, headers

    return login


def _cases():
    for row in MATRIX:
        for role, status in zip(ROLES, row.statuses, strict=True):
            yield pytest.param(role, row, status, id=f"{role}-{row.method}-{row.url}")


@pytest.mark.parametrize("role, row, expected", list(_cases()))
def test_access(ids, as_role, role, row, expected):
    url = row.url.format_map(ids)
    client, headers = as_role(role, url)
    data = {k: v.format_map(ids) for k, v in row.data.items()} if row.data is not None else None
    response = client.open(url, method=row.method, data=data, json=row.json, headers=headers)
    assert response.status_code == expected, f"{role} {row.method} {url}: {response.status_code}"
    if expected == 302 and role == "anonymous" and not url.startswith("/idioma/"):
        assert response.headers["Location"].startswith("/login"), "anonymous users are sent to the login page"


# -- completeness ---------------------------------------------------------------------------------------------


def _reached(app) -> tuple[set, list[str]]:
    """(endpoint, method) pairs the tables reach, and the rows that match no route."""
    adapter = app.url_map.bind("localhost")
    reached, stale = set(), []
    for source, routes in {"tests/test_access_matrix.py": ACCESS_ROUTES, **DOMAIN_TABLES}.items():
        for method, url in routes:
            try:
                endpoint, _args = adapter.match(dummy_path(url), method=method)
            except (NotFound, MethodNotAllowed) as exc:
                stale.append(f"{source}: {method} {url} ({type(exc).__name__})")
                continue
            reached.add((endpoint, method))
    return reached, stale


def _routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_route_is_in_an_access_table(app):
    reached, stale = _reached(app)
    assert not stale, "access table rows that match no route:\n" + "\n".join(stale)
    missing = sorted(
        f"{method} {rule.rule} ({rule.endpoint})"
        for rule, method in _routes(app)
        if rule.endpoint not in NOT_IN_MATRIX | PUBLIC_ROUTES and (rule.endpoint, method) not in reached
    )
    assert not missing, "routes without rows in any access table:\n" + "\n".join(missing)


def test_the_exceptions_are_real_routes(app):
    """A renamed endpoint must not linger in the allow-lists (it would hide nothing, silently)."""
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert (NOT_IN_MATRIX | PUBLIC_ROUTES) - endpoints == set()


# -- staff admin: staff only, capped exports, no secrets ----------------------------------------------------


def _model_views(app):
    return [v for v in app.extensions["revenda_admin"]._views if hasattr(v, "export_max_rows")]


def test_every_admin_view_is_staff_only_and_exports_are_capped(app):
    views = _model_views(app)
    assert len(views) >= 16
    for view in views:
        assert view.permission in ROLE_PERMISSIONS[Role.ADMIN] | ROLE_PERMISSIONS[Role.FINANCE], view.endpoint
        for role in (Role.MANAGER, Role.ACCOUNTANT, Role.CLIENT):
            assert view.permission not in ROLE_PERMISSIONS[role], (view.endpoint, role)
        if view.can_export:
            assert 0 < view.export_max_rows <= 5000, view.endpoint  # 0 would mean "no limit"
            assert view.export_types == ["csv"], view.endpoint


def test_csv_export_stops_at_export_max_rows(app, db, client, login_as, admin_user, monkeypatch):
    view = next(v for v in _model_views(app) if v.endpoint == "outbox")
    monkeypatch.setattr(view, "export_max_rows", 2)
    for n in range(3):
        _db.session.add(OutboxEmail(to=f"pessoa{n}@example.com", subject=f"Teste {n}", body_text="Olá"))
    _db.session.flush()
    response = login_as(admin_user).get("/admin/outbox/export/csv/")
    assert response.status_code == 200
    rows = [row for row in csv.reader(io.StringIO(response.get_data(as_text=True))) if row]
    assert len(rows) == 1 + 2, rows  # the header and two rows, not three


def test_admin_user_details_never_show_the_password_hash(db, client, login_as, admin_user, manager):
    html = login_as(admin_user).get(f"/admin/users/details/?id={manager.id}").get_data(as_text=True)
    assert manager.email in html
    assert manager.password_hash and manager.password_hash not in html
    assert "password_hash" not in html and "Password Hash" not in html


def test_matrix_roles_are_real(app):
    """The role names above are the app's roles (plus anonymous and another partner's manager)."""
    assert set(ROLES) - {"anonymous", "other_manager"} == {r.value for r in Role}
