"""Who reaches which orders URL: (role, method, url) → status. Tables: tests/orders/access_routes.py."""

import pytest

from contracts.models import AcceptanceChannel
from contracts.services import accept_terms
from core.permissions import Role
from orders import documents, services
from tests.access_common import check_api, check_page
from tests.factories import ClientFactory, UserFactory
from tests.orders.access_routes import api_table, table
from tests.orders.helpers import make_service, order_data

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def world(db, partner, other_partner, plan):
    service = make_service()
    mine = ClientFactory(partner=partner, plan=plan)
    theirs = ClientFactory(partner=other_partner, plan=plan)
    active = services.place_order(partner, order_data(mine, service))
    accept_terms(mine, channel=AcceptanceChannel.EMAIL_LINK, ip=None, user_agent=None, terms=service.terms_version)
    own = services.place_order(partner, order_data(ClientFactory(partner=partner, plan=plan), service))
    other = services.place_order(other_partner, order_data(theirs, service))
    person = documents.add_responsible(active, {"name": "Ana Souza", "email": "ana@exemplo.com.br"})
    attachment = documents.add_attachment(active, person, "rg.pdf", PDF)
    users = {
        "manager": UserFactory(role=Role.MANAGER, partner=partner),
        "other_manager": UserFactory(role=Role.MANAGER, partner=other_partner),
        "accountant": UserFactory(role=Role.ACCOUNTANT),
        "client": UserFactory(role=Role.CLIENT, email=mine.email, client_id=mine.id),
        "finance": UserFactory(role=Role.FINANCE),
        "admin": UserFactory(role=Role.ADMIN),
    }
    db.session.commit()
    assert active.status == services.S.ACTIVE and own.status == services.S.AWAITING_DOCUMENTATION
    ids = {"own": own.id, "active": active.id, "other": other.id, "resp": person.id, "att": attachment.id,
           "service": service.id}
    return users, ids


@pytest.mark.parametrize(("role", "method", "url", "data", "status"), table())
def test_access(client, login_as, world, role, method, url, data, status):
    check_page(client, login_as, *world, role, method, url, data, status)


@pytest.mark.parametrize(("role", "method", "url", "status"), api_table())
def test_api_access(client, login_as, db, world, role, method, url, status):
    check_api(client, login_as, db, *world, role, method, url, status)
