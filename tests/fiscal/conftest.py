"""Fixtures for the fiscal tests: a client whose CNPJ the generated notes use, and its integration key."""

import pytest

from certificates import services as certificate_services
from tests.factories import ClientFactory

SELLER = "11222333000181"  # the client's CNPJ in these tests
BUYER = "45723174000110"


@pytest.fixture
def fiscal_client(partner, plan, db):
    row = ClientFactory(partner=partner, plan=plan, cnpj=SELLER, legal_name="Padaria Pão Quente Ltda")
    db.session.commit()
    return row


@pytest.fixture
def fiscal_key(db, fiscal_client):
    rotated = certificate_services.rotate_integration_key(fiscal_client, 0)
    db.session.commit()
    return rotated.plaintext


@pytest.fixture
def partner_headers(db, partner):
    from partner.services import create_api_token

    _token, plaintext = create_api_token(partner, "Testes fiscais")
    db.session.commit()
    return {"Authorization": f"Bearer {plaintext}"}
