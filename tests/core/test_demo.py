"""``flask demo``: idempotent, prints working logins and API tokens (text and --json)."""

import json

import pytest
from sqlalchemy import func, select

from accounts.models import User
from partner.models import ApiToken, Client, ContractStatus, Partner, PartnerEmail, Plan, Software

MODELS = (Software, Plan, Partner, PartnerEmail, Client, User, ApiToken)


def counts(db) -> dict:
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model)) for model in MODELS}


@pytest.fixture
def demo(app, db, monkeypatch):
    """Run ``flask demo`` with the given options; returns its output (asserts it succeeded)."""
    from argon2 import PasswordHasher

    # the demo hashes every password on every run: cheap argon2 parameters keep this quick
    monkeypatch.setattr("accounts.models._hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    runner = app.test_cli_runner()

    def run(*args):
        result = runner.invoke(args=["demo", *args])
        assert result.exit_code == 0, result.output
        return result.output

    return run


def test_demo_is_idempotent_and_prints_every_login(db, demo):
    text = demo()
    after_first = counts(db)
    assert after_first["Partner"] == 2 and after_first["Client"] >= 7 and after_first["ApiToken"] == 2
    data = json.loads(demo("--json"))  # a second run, printing JSON
    assert counts(db) == after_first

    assert set(data) == {"users", "partner_api_tokens"}
    assert {"admin", "finance", "manager", "manager_b", "accountant"} <= set(data["users"])
    for role, creds in data["users"].items():
        assert set(creds) == {"email", "password"} and "@" in creds["email"] and creds["password"]
        assert f"{role}" in text and creds["email"] in text and creds["password"] in text  # same logins
    assert set(data["partner_api_tokens"]) == {"a", "b"}
    for key, token in data["partner_api_tokens"].items():
        assert token.startswith("rvp_") and f"API token partner {key}: {token}" in text  # same tokens

    assert set(db.session.scalars(select(Client.status))) == set(ContractStatus)  # clients in every status
    accountant = data["users"]["accountant"]["email"]
    linked = db.session.scalar(select(func.count(Client.id)).where(Client.accountant_email == accountant))
    assert 0 < linked < after_first["Client"]  # linked to some clients, not all


def test_demo_logins_and_tokens_work(app, db, demo, client):
    data = json.loads(demo("--json"))
    for role, creds in data["users"].items():
        response = client.post("/login", data=creds)
        assert response.status_code == 302, role
        assert client.post("/logout").status_code == 302

    alfa = db.session.scalar(select(Partner).join(User, User.partner_id == Partner.id)
                             .where(User.email == data["users"]["manager"]["email"]))
    expected = set(db.session.scalars(select(Client.id).where(Client.partner_id == alfa.id)))
    response = client.get("/api/v1/clients?per_page=100",
                          headers={"Authorization": f"Bearer {data['partner_api_tokens']['a']}"})
    assert response.status_code == 200
    body = response.get_json()
    assert {c["id"] for c in body["items"]} == expected and body["total"] == len(expected)
    other = client.get("/api/v1/clients?per_page=100",
                       headers={"Authorization": f"Bearer {data['partner_api_tokens']['b']}"}).get_json()
    assert other["total"] > 0 and not expected & {c["id"] for c in other["items"]}
