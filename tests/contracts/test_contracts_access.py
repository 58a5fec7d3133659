"""Access matrix of the contracts routes: (role, method, url) → status, for every role.

Placeholders: {client} the partner's active client (with a plan change scheduled), {trial} its client
in trial, {link} a pending signup link of the partner, {token} that link's URL token, {accept} a
signed acceptance token for {client}. "other_manager" manages another partner."""

import pytest
from sqlalchemy import func, select

from contracts import services
from contracts.models import AcceptanceChannel, ContractEvent, SignupLink, TermsVersion
from partner.models import Client, ContractStatus
from partner.services import create_api_token
from tests.contracts.helpers import signup_form
from tests.factories import ClientFactory, PlanFactory

ROLES = ("anonymous", "admin", "finance", "manager", "other_manager", "accountant", "client")


def manager_only(ok: int, other: int = 404) -> dict:
    """A manager route: login first (302), then the permission (403), then tenancy (404)."""
    return {"anonymous": 302, "admin": 403, "finance": 403, "manager": ok, "other_manager": other,
            "accountant": 403, "client": 403}


def everyone(status: int) -> dict:
    return dict.fromkeys(ROLES, status)


CLIENT_ONLY = {"anonymous": 302, "admin": 403, "finance": 403, "manager": 403, "other_manager": 403,
               "accountant": 403, "client": None}

MATRIX = [
    ("GET", "/links-de-contratacao", None, manager_only(200, other=200)),
    ("POST", "/links-de-contratacao", "link_form", manager_only(302, other=302)),
    ("GET", "/links-de-contratacao/{link}", None, manager_only(200)),
    ("POST", "/links-de-contratacao/{link}/enviar", {"to": "x@cliente.example"}, manager_only(302)),
    ("POST", "/links-de-contratacao/{link}/revogar", None, manager_only(302)),
    ("POST", "/clientes/{client}/contrato/status", {"status": "blocked", "reason": "manual"}, manager_only(302)),
    ("POST", "/clientes/{client}/contrato/pagador", {"payer": "partner"}, manager_only(302)),
    ("POST", "/clientes/{trial}/contrato/teste", {"trial_ends_on": "2099-01-31"}, manager_only(302)),
    ("POST", "/clientes/{client}/contrato/reenviar-aceite", None, manager_only(302)),
    ("POST", "/clientes/{client}/software", "plan_form", manager_only(302)),
    ("POST", "/clientes/{client}/software/cancelar-agendamento", None, manager_only(302)),
    ("GET", "/contratar/{token}", None, everyone(200)),
    ("POST", "/contratar/{token}", "signup_form", everyone(302)),
    ("GET", "/aceite/{accept}", None, everyone(200)),
    ("POST", "/aceite/{accept}", {"accept_terms": "1"}, everyone(302)),
    ("GET", "/cliente/aceite", None, {**CLIENT_ONLY, "client": 200}),
    ("POST", "/cliente/aceite", {"accept_terms": "1"}, {**CLIENT_ONLY, "client": 302}),
    ("GET", "/clientes/{client}?tab=contrato", None, {"anonymous": 302, "admin": 403, "finance": 403,
                                                      "manager": 200, "other_manager": 404, "accountant": 200,
                                                      "client": 403}),
]

CASES = [(role, method, url, data, expected[role]) for method, url, data, expected in MATRIX for role in ROLES]


@pytest.fixture
def world(db, partner, other_partner, plan, manager, other_manager, accountant, admin_user, finance_user,
          client_row, client_user):
    trial = ClientFactory(partner=partner, plan=plan, status=ContractStatus.TRIAL)
    diamante = PlanFactory(software=plan.software, name="Diamante", price_cents=19990)
    services.change_plan(client_row, diamante, when="next_cycle")
    link = services.create_signup_link(partner, {"plan_id": plan.id, "payer": "client"}, actor=manager)
    users = {"anonymous": None, "admin": admin_user, "finance": finance_user, "manager": manager,
             "other_manager": other_manager, "accountant": accountant, "client": client_user}
    values = {"client": client_row.id, "trial": trial.id, "link": link.id, "token": services.link_token(link),
              "accept": services.acceptance_token(client_row)}
    forms = {"link_form": {"plan_id": plan.id, "payer": "client"},
             "plan_form": {"plan_id": PlanFactory(software=plan.software, name="Bronze", price_cents=4990).id},
             "signup_form": signup_form(55)}
    return users, values, forms


@pytest.mark.parametrize(("role", "method", "url", "data", "expected"), CASES,
                         ids=[f"{r}-{m}-{u}" for r, m, u, _d, _e in CASES])
def test_access(world, as_user, role, method, url, data, expected):
    users, values, forms = world
    client = as_user(users[role])
    data = forms.get(data, data) if isinstance(data, str) else data
    response = client.open(url.format(**values), method=method, data=data or {})
    assert response.status_code == expected
    if expected == 302 and role == "anonymous" and "/contratar/" not in url and "/aceite/" not in url:
        assert "/login" in response.headers["Location"]


def test_accountant_never_sees_the_contract_tabs(world, as_user):
    users, values, _forms = world
    html = as_user(users["accountant"]).get(f"/clientes/{values['client']}?tab=contrato").get_data(as_text=True)
    assert 'data-tab="contrato"' not in html and 'data-testid="tab-contract"' not in html
    assert "Links de contratação" not in as_user(users["accountant"]).get("/painel").get_data(as_text=True)


# -- the API: a partner token, another partner's token, or none (a session cookie is not enough) -----------

API_ROUTES = [
    ("GET", "/api/v1/signup-links", None, 200, 200),
    ("POST", "/api/v1/signup-links", "link", 201, 201),
    ("DELETE", "/api/v1/signup-links/{link}", None, 200, 404),
    ("POST", "/api/v1/clients/{client}/status", {"status": "blocked", "reason": "manual"}, 200, 404),
    ("POST", "/api/v1/clients/{client}/plan", "plan", 200, 404),
    ("POST", "/api/v1/clients/{client}/payer", {"payer": "partner"}, 200, 404),
    ("GET", "/api/v1/clients/{client}/history", None, 200, 404),
    ("GET", "/api/v1/clients/{client}/contract", None, 200, 404),
    ("DELETE", "/api/v1/clients/{client}/plan/pending", None, 200, 404),
    ("POST", "/api/v1/clients/{client}/acceptance-email", None, 202, 404),
]
API_CASES = [
    (who, method, url, body, {"own": own, "other": other, "none": 401, "session": 401}[who])
    for method, url, body, own, other in API_ROUTES for who in ("own", "other", "none", "session")
]


@pytest.mark.parametrize(("who", "method", "url", "body", "expected"), API_CASES,
                         ids=[f"{w}-{m}-{u}" for w, m, u, _b, _e in API_CASES])
def test_api_access(world, as_user, other_partner, who, method, url, body, expected):
    users, values, _forms = world
    tokens = {"own": create_api_token(users["manager"].partner, "t")[1],
              "other": create_api_token(other_partner, "t")[1]}
    client = as_user(users["manager"] if who == "session" else None)
    headers = {"Authorization": f"Bearer {tokens[who]}"} if who in tokens else {}
    named = {"link": _forms["link_form"], "plan": _forms["plan_form"]}
    body = named[body] if isinstance(body, str) else body
    response = client.open(url.format(**values), method=method, headers=headers,
                           **({"json": body} if body is not None else {}))
    assert response.status_code == expected, response.get_data(as_text=True)


# -- staff admin views (same shape as tests/test_access_matrix.py) ------------------------------------------
# (endpoint, id key, roles that may use it, can create)
ADMIN_VIEWS = [
    ("admin_signup_links", "link", {"admin", "finance"}, False),
    ("admin_acceptances", "acceptance", {"admin", "finance"}, False),
    ("admin_contract_events", "event", {"admin", "finance"}, False),
    ("admin_terms", "terms", {"admin"}, True),
]


def _admin_cases():
    for view, key, allowed, can_create in ADMIN_VIEWS:
        new = 200 if can_create else 302  # a view that cannot create sends the form back to the list
        pages = [
            ("GET", f"/admin/{view}/", 200, None), ("GET", f"/admin/{view}/new/", new, None),
            ("POST", f"/admin/{view}/new/", new, {}),  # empty form: re-shown with errors
            ("GET", f"/admin/{view}/edit/?id={{{key}}}", 302, None),  # nothing here is edited
            ("POST", f"/admin/{view}/edit/?id={{{key}}}", 302, {}),
            ("GET", f"/admin/{view}/details/?id={{{key}}}", 200, None),
            ("GET", f"/admin/{view}/export/csv/", 200, None),
            ("POST", f"/admin/{view}/delete/", 302, {"id": f"{{{key}}}"}),
            ("GET", f"/admin/{view}/ajax/lookup/?name=x&query=a", 404, None),
        ]
        for method, url, ok, data in pages:
            for role in ROLES:
                status = 302 if role == "anonymous" else ok if role in allowed else 403
                yield pytest.param(role, method, url, data, status, id=f"{role}-{method}-{url}")


@pytest.mark.parametrize(("role", "method", "url", "data", "expected"), list(_admin_cases()))
def test_admin_access(world, db, as_user, role, method, url, data, expected):
    users, values, _forms = world
    client_row = db.session.get(Client, values["client"])
    acceptance = services.accept_terms(client_row, channel=AcceptanceChannel.EMAIL_LINK, ip=None, user_agent=None)
    ids = {**values, "acceptance": acceptance.id, "terms": services.current_terms().id,
           "event": db.session.scalar(select(func.max(ContractEvent.id)))}
    counts = [db.session.scalar(select(func.count()).select_from(m)) for m in (SignupLink, TermsVersion)]
    db.session.commit()  # a refused request rolls the session back: keep the set-up
    client = as_user(users[role])
    response = client.open(url.format(**ids), method=method,
                           data={k: v.format(**ids) for k, v in (data or {}).items()})
    assert response.status_code == expected
    assert [db.session.scalar(select(func.count()).select_from(m)) for m in (SignupLink, TermsVersion)] == counts
