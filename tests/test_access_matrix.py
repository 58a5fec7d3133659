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

from accounts.models import Membership
from accounts.sessions import start_session
from core.audit import AuditEvent
from core.db import db as _db
from core.mail import OutboxEmail
from core.permissions import ROLE_PERMISSIONS, Role
from partner.models import PartnerEmail
from partner.services import create_api_token
from tests.access_common import MULTI_CONTEXTS, ROLES, admin_pages, dummy_path, staff_statuses
from tests.billing import access_routes as billing_routes
from tests.certificates import access_routes as certificate_routes
from tests.contracts import access_routes as contract_routes
from tests.factories import UserFactory
from tests.fiscal import access_routes as fiscal_routes
from tests.orders import access_routes as order_routes
from tests.portal import access_routes as portal_routes
from tests.webhooks import access_routes as webhook_routes

#: The domains' tables; with MATRIX below they must reach every route of the app.
DOMAIN_TABLES = {
    "tests/contracts/access_routes.py": contract_routes.ACCESS_ROUTES,
    "tests/certificates/access_routes.py": certificate_routes.ACCESS_ROUTES,
    "tests/billing/access_routes.py": billing_routes.ACCESS_ROUTES,
    "tests/fiscal/access_routes.py": fiscal_routes.ACCESS_ROUTES,
    "tests/portal/access_routes.py": portal_routes.ACCESS_ROUTES,
    "tests/webhooks/access_routes.py": webhook_routes.ACCESS_ROUTES,
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
    # two-factor authentication: the second step without a pending login goes back to /login; the account's
    # 2FA pages are everyone's own (staff come enrolled: "ativar" sends them to the settings)
    R("GET", "/login/verificacao",                              302, 302, 302, 302, 302, 302, 302),
    R("POST", "/login/verificacao",                             302, 302, 302, 302, 302, 302, 302,
      data={"code": "123456"}),
    R("GET", "/conta/verificacao-em-duas-etapas",               302, 200, 200, 200, 200, 200, 200),
    R("GET", "/conta/verificacao-em-duas-etapas/ativar",        302, 302, 302, 200, 200, 200, 200),
    R("POST", "/conta/verificacao-em-duas-etapas/ativar",       302, 302, 302, 422, 422, 422, 422, data={}),
    R("POST", "/conta/verificacao-em-duas-etapas/codigos",      302, 422, 422, 422, 422, 422, 422, data={}),
    R("POST", "/conta/verificacao-em-duas-etapas/desativar",    302, 422, 422, 422, 422, 422, 422, data={}),
    R("GET", "/empresas",                                       302, 200, 200, 200, 200, 200, 200),
    R("POST", "/empresas/999999",                               302, 404, 404, 404, 404, 404, 404),
    R("POST", "/empresas/{manager_membership_id}",              302, 404, 404, 302, 404, 404, 404),
    R("POST", "/empresas/trocar",                               302, 404, 404, 404, 404, 404, 404,
      data={"membership": ""}),
    R("GET", "/convite/nao-e-um-token",                         400, 400, 400, 400, 400, 400, 400),
    R("POST", "/convite/nao-e-um-token",                        400, 400, 400, 400, 400, 400, 400, data={}),
    R("POST", "/convite/nao-e-um-token/esqueci-senha",          400, 400, 400, 400, 400, 400, 400, data={}),
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
    R("GET", "/meus-dados?tab=seguranca",                       302, 403, 403, 200, 200, 403, 403),
    R("POST", "/meus-dados/seguranca",                          302, 403, 403, 302, 302, 403, 403,
      data={"require_two_factor": "0"}),
    R("POST", "/meus-dados/api/tokens",                         302, 403, 403, 422, 422, 403, 403,
      data={"name": ""}),
    R("POST", "/meus-dados/api/tokens/{token_id}/revogar",      302, 403, 403, 302, 404, 403, 403),
    R("GET", "/cliente",                                        302, 403, 403, 403, 403, 403, 200),
    # -- users of a firm: Meus dados → Usuários (managers), Configurações → Usuários (client users) ------
    R("GET", "/meus-dados?tab=usuarios",                        302, 403, 403, 200, 200, 403, 403),
    R("GET", "/cliente/usuarios",                               302, 403, 403, 403, 403, 403, 200),
    R("POST", "/usuarios/convidar",                             302, 403, 403, 422, 422, 403, 422, data={}),
    R("POST", "/usuarios/convites/{invitation_id}/reenviar",    302, 403, 403, 302, 404, 403, 404),
    R("POST", "/usuarios/convites/{invitation_id}/cancelar",    302, 403, 403, 302, 404, 403, 404),
    R("POST", "/usuarios/convites/{client_invitation_id}/reenviar", 302, 403, 403, 404, 404, 403, 302),
    R("POST", "/usuarios/convites/{client_invitation_id}/cancelar", 302, 403, 403, 404, 404, 403, 302),
    R("POST", "/usuarios/convites/abc/cancelar",                302, 403, 403, 404, 404, 403, 404),
    R("POST", "/usuarios/{member_id}/remover",                  302, 403, 403, 302, 404, 403, 404),
    R("POST", "/usuarios/{client_member_id}/remover",           302, 403, 403, 404, 404, 403, 302),
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
    R("GET", "/api/v1/me",                                      401, 401, 401, 200, 200, 401, 401),
    R("GET", "/api/v1/invitations",                             401, 401, 401, 200, 200, 401, 401),
    R("POST", "/api/v1/invitations",                            401, 401, 401, 422, 422, 401, 401, json={}),
    R("DELETE", "/api/v1/invitations/{invitation_id}",          401, 401, 401, 204, 404, 401, 401),
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


def _invitation(request, **firm):
    from accounts.invitations import invite
    from accounts.models import InvitationKind

    partner = request.getfixturevalue("partner")
    kind = InvitationKind.CLIENT_USER if firm else InvitationKind.MANAGER
    return invite(kind, {"name": "Convidado", "email": "convidado@matriz.example"}, partner_id=partner.id,
                  **firm).id


def _second_member(request, **fields):
    """Another person in the firm, so removing them is allowed (a partner keeps one manager)."""
    user = UserFactory(email=f"segundo-{len(fields)}@matriz.example", **fields)
    _db.session.flush()
    return user.memberships[0].id


ID_MAKERS = {
    "manager_membership_id": lambda r: r.getfixturevalue("manager").memberships[0].id,
    "invitation_id": _invitation,
    "client_invitation_id": lambda r: _invitation(r, client_id=r.getfixturevalue("client_row").id),
    "member_id": lambda r: _second_member(r, role=Role.MANAGER, partner=r.getfixturevalue("partner")),
    "client_member_id": lambda r: _second_member(r, role=Role.CLIENT, client_id=r.getfixturevalue("client_row").id),
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
def multi_user(db, other_partner, client_row):
    """One person, three firms: manager of the other partner, user of ``client_row``, finance staff.
    A staff membership makes 2FA required for the person (it is per user), so they come enrolled."""
    user = UserFactory(role=Role.MANAGER, partner=other_partner, email="varias@firmas.example", two_factor=True)
    user.memberships.append(Membership(role=Role.CLIENT, client_id=client_row.id))
    user.memberships.append(Membership(role=Role.FINANCE))
    _db.session.flush()
    return user


def _log_in_context(client, user, role):
    """Log ``user`` in working in the membership that mirrors ``role``."""
    mirrored = {"other_manager": Role.MANAGER, "client": Role.CLIENT, "finance": Role.FINANCE}[role]
    membership = next(m for m in user.memberships if m.role == mirrored)
    with client.session_transaction() as session:
        session["_user_id"] = start_session(user, membership=membership)
        session["_fresh"] = True


@pytest.fixture
def as_role(db, request, login_as, client):
    """Log the test client in as ``role``; returns it and the API headers (a manager sends its token).
    A ``multi@…`` role is ``multi_user`` working in the membership that mirrors the role after the @."""

    def login(role, url):
        headers = {}
        if role == "anonymous":
            return client, headers
        if role in MULTI_CONTEXTS:
            user = request.getfixturevalue("multi_user")
            _log_in_context(client, user, MULTI_CONTEXTS[role])
            role = MULTI_CONTEXTS[role]
        else:
            user = request.getfixturevalue(ROLE_FIXTURES[role])
            login_as(user)
        if url.startswith("/api/") and role in ("manager", "other_manager"):
            _token, plaintext = create_api_token(user.partner, "Matriz")
            headers["Authorization"] = f"Bearer {plaintext}"
        return client, headers

    return login


#: The person's own 2FA pages answer by whether that person is enrolled, not by the firm in use.
PERSONAL_2FA = "/conta/verificacao-em-duas-etapas"


def _cases():
    for row in MATRIX:
        by_role = dict(zip(ROLES, row.statuses, strict=True))
        for role, status in by_role.items():
            yield pytest.param(role, row, status, id=f"{role}-{row.method}-{row.url}")
        for context, mirrored in MULTI_CONTEXTS.items():  # the multi-membership user, in each context
            if row.url.startswith(PERSONAL_2FA):
                mirrored = "finance"  # 2FA is the person's, in every firm: they are enrolled, like staff
            yield pytest.param(context, row, by_role[mirrored], id=f"{context}-{row.method}-{row.url}")


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
