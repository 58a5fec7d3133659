"""Login limits shared by every process (not 10 tries per worker), per address and per account; a
failed login costs one argon2 check whether the e-mail exists or not (no enumeration by timing)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

import accounts.models
from core.config import Config
from core.mail import OutboxEmail
from tests.factories import PASSWORD, UserFactory

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def config(app):
    saved = {}

    def change(**values):
        for key, value in values.items():
            saved.setdefault(key, app.config[key])
            app.config[key] = value

    yield change
    app.config.update(saved)


def attempt(http, email, password="senha-errada", address="10.0.0.1"):
    return http.post("/login", data={"email": email, "password": password},
                     environ_overrides={"REMOTE_ADDR": address}).status_code


_PROCESS = """
import json, sys
from app import create_app
app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": sys.argv[1], "CELERY_BROKER_URL": "memory://",
                  "WTF_CSRF_ENABLED": False, "LOGIN_RATE_LIMIT": "4 per minute"})
http = app.test_client()
print(json.dumps([http.post("/login", data={"email": "ninguem@lugar.example", "password": "x"}).status_code
                  for _ in range(3)]))
"""


def test_the_login_limit_is_shared_by_separate_processes(app, tmp_path):
    """Two processes (as two gunicorn workers) on the embedded default's configuration: 4 tries in all."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "RATELIMIT_STORAGE_URI"}}
    env["REVENDA_INSTANCE"] = str(tmp_path)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    statuses = []
    for _worker in range(2):
        out = subprocess.run([sys.executable, "-c", _PROCESS, url], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        statuses.append(json.loads(out.stdout.strip().splitlines()[-1]))
    assert statuses == [[401, 401, 401], [401, 429, 429]]
    assert (tmp_path / "ratelimit.db").exists()


def test_production_counts_in_redis(monkeypatch, tmp_path):
    monkeypatch.setenv("REVENDA_INSTANCE", str(tmp_path))
    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/3")
    assert Config().RATELIMIT_STORAGE_URI == "redis://127.0.0.1:6379/3"
    monkeypatch.delenv("REDIS_URL")
    assert Config().RATELIMIT_STORAGE_URI == f"revenda+sqlite:///{tmp_path.resolve() / 'ratelimit.db'}"


def test_one_account_is_limited_across_addresses(db, client, config, partner):
    config(LOGIN_RATE_LIMIT="100 per minute", LOGIN_ACCOUNT_RATE_LIMIT="3 per minute")
    victim, bystander = UserFactory(partner=partner), UserFactory(partner=partner)
    db.session.commit()
    assert [attempt(client, victim.email.upper(), address=f"10.0.0.{n}") for n in range(1, 4)] == [401, 401, 401]
    blocked = client.post("/login", data={"email": f" {victim.email} ", "password": PASSWORD},
                          environ_overrides={"REMOTE_ADDR": "10.9.9.9"})
    assert blocked.status_code == 429  # even the right password, from a new address, waits now
    assert "Muitas tentativas" in blocked.get_data(as_text=True)
    assert attempt(client, bystander.email, PASSWORD, address="10.0.0.1") == 302  # other accounts are not


def test_successful_logins_do_not_use_up_the_account_limit(db, client, config, manager):
    config(LOGIN_RATE_LIMIT="100 per minute", LOGIN_ACCOUNT_RATE_LIMIT="2 per minute")
    db.session.commit()
    for n in range(4):
        assert attempt(client, manager.email, PASSWORD, address=f"10.1.0.{n}") == 302
        client.post("/logout")


def test_reset_requests_are_limited_per_account(db, client, config, manager):
    config(LOGIN_RATE_LIMIT="100 per minute", LOGIN_ACCOUNT_RATE_LIMIT="2 per minute")
    db.session.commit()
    statuses = [client.post("/esqueci-senha", data={"email": manager.email},
                            environ_overrides={"REMOTE_ADDR": f"10.2.0.{n}"}).status_code for n in range(3)]
    assert statuses == [302, 302, 429]
    mails = db.session.scalar(select(func.count()).select_from(OutboxEmail).where(OutboxEmail.to == manager.email))
    assert mails == 2


class CountingHasher(PasswordHasher):
    """The real argon2 hasher, counting its verifications (the work that takes the time)."""

    def __init__(self):
        super().__init__()
        self.verified = []

    def verify(self, hash, password):  # noqa: A002 - argon2's own parameter name
        self.verified.append(hash)
        return super().verify(hash, password)


@pytest.fixture
def verifications(monkeypatch):
    hasher = CountingHasher()
    monkeypatch.setattr(accounts.models, "_hasher", hasher)
    monkeypatch.setattr(accounts.models, "_DUMMY_HASH", hasher.hash("outra"))
    return hasher.verified


@pytest.mark.parametrize("who", ["unknown", "wrong password", "no password yet", "inactive"])
def test_every_failed_login_verifies_one_hash(db, client, config, partner, verifications, who):
    config(LOGIN_RATE_LIMIT="100 per minute", LOGIN_ACCOUNT_RATE_LIMIT="100 per minute")
    user = UserFactory(partner=partner, password_hash=None, is_active=who != "inactive")
    if who != "no password yet":
        user.set_password(PASSWORD)
    db.session.commit()
    email = "ninguem@lugar-nenhum.example" if who == "unknown" else user.email
    password = PASSWORD if who == "inactive" else "senha-errada"
    verifications.clear()
    assert attempt(client, email, password) == 401
    assert len(verifications) == 1
