"""Fixtures for the partner API tests: a token for ``partner`` and a client that sends it."""

import pytest

from partner.services import create_api_token
from tests.factories import ApiClient


@pytest.fixture
def api_token(db, partner):
    _token, plaintext = create_api_token(partner, "Integração de teste")
    db.session.commit()  # a rejected request rolls the session back: keep the set-up data
    return plaintext


@pytest.fixture
def api(client, api_token):
    return ApiClient(client, api_token)
