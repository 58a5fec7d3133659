"""Access matrix of the contracts routes: (role, method, url) → status, for every role.

The tables (and their placeholders) are in tests/contracts/access_routes.py, which also feeds the
completeness check of tests/test_access_matrix.py."""

import pytest
from sqlalchemy import func, select

from contracts import services
from contracts.models import AcceptanceChannel, ContractEvent, SignupLink, TermsVersion
from partner.models import Client, ContractStatus
from partner.services import create_api_token
from tests.access_common import ROLES
from tests.contracts.access_routes import ADMIN_ROWS, API_ROUTES, MATRIX
from tests.contracts.helpers import signup_form
from tests.factories import ClientFactory, PlanFactory

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


def _admin_cases():
    for method, url, data, expected in ADMIN_ROWS:
        for role in ROLES:
            yield pytest.param(role, method, url, data, expected[role], id=f"{role}-{method}-{url}")


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
