"""Access table for every webhook route (panel and API): (who, method, url) → status.
Tables: tests/webhooks/access_routes.py."""

import pytest

from partner.services import create_api_token
from tests.factories import UserFactory
from tests.webhooks.access_routes import API, PANEL
from webhooks import services

USERS = {"manager": "manager", "other_manager": "other_manager", "accountant": "accountant", "client": "client_user",
         "admin": "admin_user", "finance": "finance_user"}


def _cases(table):
    for method, url, expected in table:
        for who, status in expected.items():
            yield pytest.param(who, method, url, status, id=f"{who}-{method}-{url}")


def _with_delivery(**owner):
    endpoint, _secret = services.create_endpoint(url="http://127.0.0.1:9/hook", events=["export.ready"]
                                                 if "user_id" in owner else ["invoice.paid"], **owner)
    [delivery] = services.emit_to([endpoint], endpoint.events[0], {"x": 1})
    return endpoint, delivery


@pytest.fixture
def world(db, partner, manager, accountant, client_user, admin_user, finance_user, other_manager):
    from core.permissions import Role

    endpoint, delivery = _with_delivery(partner_id=partner.id)
    mine, my_delivery = _with_delivery(user_id=accountant.id)
    someone = UserFactory(role=Role.ACCOUNTANT, email="outro@contabil.example")
    theirs, _d = _with_delivery(user_id=someone.id)
    from partner.services import create_accountant_token

    accountant_token, _plain = create_accountant_token(accountant, "ERP contábil")
    partner_token, _plain = create_api_token(partner, "ERP")
    db.session.commit()
    return {"eid": endpoint.id, "did": delivery.id, "dpub": delivery.public_id, "aid": mine.id,
            "adid": my_delivery.id, "other_aid": theirs.id, "atok": accountant_token.id, "ptok": partner_token.id}


@pytest.mark.parametrize(("who", "method", "url", "status"), list(_cases(PANEL)))
def test_panel_routes(who, method, url, status, world, client, login_as, request):
    http = login_as(request.getfixturevalue(USERS[who])) if who != "anonymous" else client
    response = http.open(url.format(**world), method=method)
    assert response.status_code == status
    if status == 302 and who == "anonymous":
        assert "/login" in response.headers["Location"]


@pytest.mark.parametrize(("who", "method", "url", "status"), list(_cases(API)))
def test_api_routes(who, method, url, status, world, client, login_as, request, db):
    headers = {}
    if who in ("manager", "other_manager"):
        user = request.getfixturevalue(USERS[who])
        _token, plaintext = create_api_token(user.partner, "Matriz")
        db.session.commit()
        headers["Authorization"] = f"Bearer {plaintext}"
    elif who != "anonymous":
        login_as(request.getfixturevalue(USERS[who]))  # a panel login is no API credential
    response = client.open(url.format(**world), method=method, headers=headers, json={} if method == "POST" else None)
    assert response.status_code == status, response.get_data(as_text=True)[:300]
