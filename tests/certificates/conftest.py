"""Fixtures for certificate and integration-key tests (helpers are in certhelpers.py)."""

import pfxgen
import pytest

from certificates import services
from partner.services import create_api_token
from tests.factories import ClientFactory


@pytest.fixture
def ecnpj_client(partner, plan, db):
    """A client of ``partner`` whose CNPJ is the generated certificates' (11.222.333/0001-81)."""
    row = ClientFactory(partner=partner, plan=plan, cnpj=pfxgen.VALID_CNPJ, accountant_email="contador@contabil.example")
    db.session.commit()  # a rejected request rolls the session back: keep the set-up data
    return row


@pytest.fixture
def committed(db, manager, client_row, other_client, accountant, client_user, admin_user, finance_user, other_manager):
    """All the usual people and rows, committed so a 4xx response cannot roll them back."""
    db.session.commit()
    return db


@pytest.fixture
def partner_api(client, db, partner):
    """(test client, headers) with a partner API token of ``partner``."""
    _token, plaintext = create_api_token(partner, "Testes de certificado")
    db.session.commit()
    return client, {"Authorization": f"Bearer {plaintext}"}


@pytest.fixture
def integration_key(db, ecnpj_client):
    """(client row, plaintext key): a current integration key for ``ecnpj_client``."""
    rotated = services.rotate_integration_key(ecnpj_client, 0)
    db.session.commit()
    return ecnpj_client, rotated.plaintext
