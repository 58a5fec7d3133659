"""Fixtures for the partner API tests: a token for ``partner`` and a client that sends it."""

import pytest

from partner.services import create_api_token


class ApiClient:
    """The Flask test client with the partner's bearer token on every request."""

    def __init__(self, client, token):
        self.client, self.token = client, token

    def _headers(self, kwargs):
        headers = dict(kwargs.pop("headers", {}) or {})
        headers.setdefault("Authorization", f"Bearer {self.token}")
        return headers

    def get(self, url, **kwargs):
        return self.client.get(url, headers=self._headers(kwargs), **kwargs)

    def post(self, url, **kwargs):
        return self.client.post(url, headers=self._headers(kwargs), **kwargs)

    def patch(self, url, **kwargs):
        return self.client.patch(url, headers=self._headers(kwargs), **kwargs)


@pytest.fixture
def api_token(db, partner):
    _token, plaintext = create_api_token(partner, "Integração de teste")
    db.session.commit()  # a rejected request rolls the session back: keep the set-up data
    return plaintext


@pytest.fixture
def api(client, api_token):
    return ApiClient(client, api_token)
