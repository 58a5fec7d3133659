"""Fixtures for the contracts tests: committed set-up, switching users, signup links, an API client."""

import pytest
from flask import g

from contracts import services
from partner.models import Payer
from partner.services import create_api_token
from tests.conftest import login_id
from tests.factories import ApiClient


@pytest.fixture
def committed(db):
    """Commit the set-up: a rejected request (status >= 400) rolls the session back to here."""
    return db.session.commit


@pytest.fixture
def as_user(client):
    """Act as ``user`` (None: anonymous) on the next requests of the test client."""

    def switch(user):
        g.pop("_login_user", None)  # the test's app context outlives requests; forget the cached user
        with client.session_transaction() as session:
            session.clear()
            if user is not None:
                session["_user_id"] = login_id(user)
                session["_fresh"] = True
        return client

    return switch


@pytest.fixture
def make_link(db, partner, plan, manager):
    def make(owner=None, **data):
        values = {"plan_id": plan.id, "payer": Payer.CLIENT.value, **data}
        return services.create_signup_link(owner or partner, values, actor=manager)

    return make


@pytest.fixture
def api(db, client, partner):
    _token, plaintext = create_api_token(partner, "Contratos")
    db.session.commit()
    return ApiClient(client, plaintext)
