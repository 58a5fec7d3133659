"""THE access matrix: every panel, admin and API route × every role → the expected status.

Each row is ``(method, url_template, statuses)`` with one status per role, in the order of ROLES.
URL templates take the ids of the fixtures below: ``{client_id}``, ``{email_id}``, ``{token_id}`` are
rows of ``partner`` (so for ``other_manager`` they are another partner's ids → 404), and
``{other_client_id}`` is a client of ``other_partner``. A row may carry form data (or JSON for the API).

Adding a route? Add its rows to MATRIX (or ADMIN_VIEWS for a Flask-Admin view). The completeness test
fails for any route of COVERED_ENDPOINTS that no row reaches, with every method it accepts.
"""

from dataclasses import dataclass, field

import pytest
from werkzeug.exceptions import MethodNotAllowed, NotFound

from core.audit import AuditEvent
from core.db import db as _db
from core.mail import OutboxEmail
from core.permissions import Role
from partner.models import PartnerEmail
from partner.services import create_api_token

ROLES = ("anonymous", "admin", "finance", "manager", "other_manager", "accountant", "client")

#: Endpoints the completeness check covers: a prefix ending in "." is a whole blueprint (or Flask-Admin
#: view); any other entry is one endpoint. The lead widens this as the other domains land.
COVERED_ENDPOINTS = (
    "accounts.",
    "partner.",
    "partner_api.openapi",
    "partner_api.list_plans",
    "partner_api.list_clients",
    "partner_api.create_client",
    "partner_api.get_client",
    "partner_api.update_client",
    "admin.",
    "software.",
    "plans.",
    "partners.",
    "users.",
    "audit.",
    "outbox.",
)
#: Routes no row needs: static files.
NOT_IN_MATRIX = {"static", "admin.static"}


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
    """The statuses an allowed staff member gets; others: anonymous → login (302), the rest 403."""
    form = 302 if read_only else 200  # a read-only view sends create/edit back to the list
    pages = [
        ("GET", f"/admin/{view}/", 200, None),
        ("GET", f"/admin/{view}/new/", form, None),
        ("POST", f"/admin/{view}/new/", form, {}),  # empty form: re-shown with errors
        ("GET", f"/admin/{view}/edit/?id={id_placeholder}", form, None),
        ("POST", f"/admin/{view}/edit/?id={id_placeholder}", form, {}),
        ("GET", f"/admin/{view}/details/?id={id_placeholder}", 200, None),
        ("GET", f"/admin/{view}/export/csv/", 200, None),
        ("POST", f"/admin/{view}/delete/", 302, {"id": id_placeholder}),
        ("POST", f"/admin/{view}/action/", 302, {}),
        ("GET", f"/admin/{view}/ajax/lookup/?name=x&query=a", 404, None),
        ("POST", f"/admin/{view}/ajax/update/", 404, {}),
    ]
    return [
        Row(method, url, tuple(302 if role == "anonymous" else ok if role in allowed else 403 for role in ROLES), data)
        for method, url, ok, data in pages
    ]


MATRIX += [row for spec in ADMIN_VIEWS for row in _admin_rows(*spec)]


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


def _covered(endpoint: str) -> bool:
    return any(endpoint.startswith(p) if p.endswith(".") else endpoint == p for p in COVERED_ENDPOINTS)


def test_every_covered_route_is_in_the_matrix(app):
    adapter = app.url_map.bind("localhost")
    dummy = dict.fromkeys(ID_MAKERS, 1)
    reached = set()
    for row in MATRIX:
        path = row.url.format(**dummy).split("?")[0]
        try:
            endpoint, _args = adapter.match(path, method=row.method)
        except (NotFound, MethodNotAllowed) as exc:
            pytest.fail(f"matrix row {row.method} {row.url} matches no route ({type(exc).__name__})")
        reached.add((endpoint, row.method))
    missing = sorted(
        f"{method} {rule.rule} ({rule.endpoint})"
        for rule in app.url_map.iter_rules()
        if _covered(rule.endpoint) and rule.endpoint not in NOT_IN_MATRIX
        for method in rule.methods - {"HEAD", "OPTIONS"}
        if (rule.endpoint, method) not in reached
    )
    assert not missing, "routes without rows in the access matrix:\n" + "\n".join(missing)


def test_matrix_roles_are_real(app):
    """The role names above are the app's roles (plus anonymous and another partner's manager)."""
    assert set(ROLES) - {"anonymous", "other_manager"} == {r.value for r in Role}
