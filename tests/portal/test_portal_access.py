"""Access table for every portal route: (who, method, url) → status. Tables: tests/portal/access_routes.py."""

import pytest

from tests.portal.access_routes import ACCEPT

USERS = {"manager": "manager", "other_manager": "other_manager", "accountant": "accountant", "client": "client_user",
         "admin": "admin_user", "finance": "finance_user"}


def _cases(table):
    for method, url, expected in table:
        for who, status in expected.items():
            yield pytest.param(who, method, url, status, id=f"{who}-{method}-{url}")


@pytest.mark.parametrize(("who", "method", "url", "status"), list(_cases(ACCEPT)))
def test_acceptance_link_routes(who, method, url, status, db, client, login_as, request, client_row):
    http = login_as(request.getfixturevalue(USERS[who])) if who != "anonymous" else client
    assert http.open(url, method=method).status_code == status
