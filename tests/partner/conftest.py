"""Helpers for the partner panel tests."""

import re

import pytest


def row_ids(html: str) -> list[int]:
    """Client ids of the dashboard's rows, in order."""
    return [int(m) for m in re.findall(r'<tr data-client-id="(\d+)"', html)]


@pytest.fixture
def committed(db):
    """Commit the set-up data: a rejected request rolls the session back (the app's request boundary)."""

    def commit():
        db.session.commit()

    return commit


@pytest.fixture
def client_form(plan):
    """A valid "Novo cadastro" form; keyword arguments override fields."""

    def make(**overrides):
        form = {
            "payer": "partner", "software_id": str(plan.software_id), "plan_id": str(plan.id),
            "legal_name": "Mercearia Boa Vista Ltda", "trade_name": "Boa Vista", "cnpj": "11.222.333/0001-81",
            "email": "dono@boavista.example", "phone": "(11) 3333-4444", "cep": "01310-100",
            "street": "Av. Paulista", "number": "2000", "complement": "", "district": "Bela Vista",
            "city": "São Paulo", "state": "SP", "accountant_email": "",
        }
        form.update(overrides)
        return form

    return make


@pytest.fixture
def login_as(login_as):
    """``login_as`` that also forgets the user Flask-Login cached in ``g``.

    The ``db`` fixture keeps one app context pushed for the whole test and each request reuses it,
    so ``g._login_user`` from an earlier request would otherwise win over the new session."""
    from flask import g

    def login(user):
        g.pop("_login_user", None)
        return login_as(user)

    return login
