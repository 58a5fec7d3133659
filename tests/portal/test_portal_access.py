"""Access table for every portal route: (who, method, url) → status. Tables: tests/portal/access_routes.py."""

import pytest

from partner import accountants
from partner.models import LinkStatus
from tests.factories import ClientFactory, link_accountant
from tests.portal.access_routes import ACCEPT, LINKS, PORTAL
from tests.portal.conftest import _note, month_start

USERS = {"manager": "manager", "other_manager": "other_manager", "accountant": "accountant", "client": "client_user",
         "admin": "admin_user", "finance": "finance_user"}


def _cases(table):
    for method, url, expected in table:
        for who, status in expected.items():
            yield pytest.param(who, method, url, status, id=f"{who}-{method}-{url}")


@pytest.fixture
def places(db, manager, client_row, other_client, accountant, client_user, admin_user, finance_user, other_manager,
           partner, plan):
    from datetime import timedelta

    when = month_start() + timedelta(hours=1)
    pending = ClientFactory(partner=partner, plan=plan)
    removed = ClientFactory(partner=partner, plan=plan)
    link_accountant(pending, accountant, status=LinkStatus.PENDING)
    link_accountant(removed, accountant, status=LinkStatus.REMOVED)
    other_link = link_accountant(other_client, accountant)
    accountants.revoke_link(other_link)  # a link of another partner's company, and not the accountant's anymore
    [link] = [lnk for lnk in accountants.links_of(client_row) if lnk.user_id == accountant.id]
    link.status = LinkStatus.PENDING  # resendable; accepted again below for the portal rows
    values = {"cid": client_row.id, "pending_cid": pending.id, "removed_cid": removed.id, "other_cid": other_client.id,
              "link_id": link.id, "other_link_id": other_link.id}
    for name, row in (("key", client_row), ("pending_key", pending), ("removed_key", removed),
                      ("other_key", other_client)):
        values[name] = _note(row, 1, 1000, when=when)
    db.session.commit()
    return values, link


def _open(request, client, login_as, who, method, url, values):
    http = login_as(request.getfixturevalue(USERS[who])) if who != "anonymous" else client
    return http.open(url.format(**values), method=method)


@pytest.mark.parametrize(("who", "method", "url", "status"), list(_cases(ACCEPT)))
def test_acceptance_link_routes(who, method, url, status, places, client, login_as, request):
    assert _open(request, client, login_as, who, method, url, places[0]).status_code == status


@pytest.mark.parametrize(("who", "method", "url", "status"), list(_cases(PORTAL)))
def test_portal_routes(who, method, url, status, places, client, login_as, request, db):
    values, link = places
    link.status = LinkStatus.ACCEPTED
    db.session.commit()
    response = _open(request, client, login_as, who, method, url, values)
    assert response.status_code == status
    if status == 302 and who == "anonymous":
        assert "/login" in response.headers["Location"]


@pytest.mark.parametrize(("who", "method", "url", "status"), list(_cases(LINKS)))
def test_link_management_routes(who, method, url, status, places, client, login_as, request):
    assert _open(request, client, login_as, who, method, url, places[0]).status_code == status
