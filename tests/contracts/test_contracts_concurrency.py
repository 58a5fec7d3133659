"""Two submissions of one signup link at the same moment: exactly one client.

This needs committed data and real concurrent transactions, so it runs against its own app and a
fresh database (not the per-test rolled-back transaction): SQLite always, PostgreSQL when the suite
has ``TEST_DATABASE_URL``."""

import threading

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select

from accounts.models import User
from contracts import services
from contracts.models import Acceptance, LinkState, SignupLink
from contracts.services import links
from core.db import db as _db
from partner.models import Client, Payer
from tests.conftest import PG_URL, _new_database, make_config
from tests.contracts.helpers import path_of, signup_form
from tests.factories import PartnerFactory, PlanFactory, UserFactory

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL unset"))]


@pytest.fixture(scope="module", params=BACKENDS)
def race_app(request, app, tmp_path_factory, smtp_server):
    from app import create_app
    from core.tasks import init_celery

    if request.param == "sqlite":
        url, drop = f"sqlite:///{tmp_path_factory.mktemp('race') / 'race.db'}", (lambda: None)
    else:
        url, drop = _new_database(tmp_path_factory, "race")
    config = make_config(url, smtp_server.port, tmp_path_factory.mktemp("race-instance"))
    config["WTF_CSRF_ENABLED"] = False
    application = create_app(config)
    init_celery(app)  # Celery is a singleton: point it back at the suite app for the other tests
    with application.app_context():
        upgrade()
    yield application
    with application.app_context():
        _db.engine.dispose()
    drop()


def _committed_link(race_app) -> tuple[int, str]:
    with race_app.app_context():
        partner = PartnerFactory()
        manager = UserFactory(partner=partner)
        plan = PlanFactory(name="Prata", price_cents=7990)
        link = services.create_signup_link(partner, {"plan_id": plan.id, "payer": Payer.CLIENT.value}, actor=manager)
        url = path_of(services.link_url(link))
        _db.session.commit()
        link_id = link.id
        _db.session.remove()
    return link_id, url


@pytest.mark.parametrize("attempt", range(3))
def test_concurrent_submissions_create_one_client(race_app, monkeypatch, attempt):
    link_id, url = _committed_link(race_app)
    form = signup_form(700 + attempt)
    statuses, errors = [], []
    start = threading.Barrier(2, timeout=20)
    if not race_app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # Both requests read the link as pending before either spends it: the race the UPDATE must win.
        # (On SQLite a POST takes the write lock up front, so the second one reads the link spent.)
        barrier = threading.Barrier(2, timeout=20)
        validate = links.validate_signup

        def validate_then_wait(link, data):
            clean = validate(link, data)
            barrier.wait()
            return clean

        monkeypatch.setattr(links, "validate_signup", validate_then_wait)

    def submit():
        try:
            start.wait()
            response = race_app.test_client().post(url, data=form)
            statuses.append((response.status_code, response.get_data(as_text=True)))
        except Exception as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors
    assert sorted(code for code, _body in statuses) == [302, 410]
    loser = next(body for code, body in statuses if code == 410)
    assert "Este link de contratação já foi utilizado" in loser
    with race_app.app_context():
        email = form["email"]
        assert _db.session.scalar(select(func.count(Client.id)).where(Client.email == email)) == 1
        assert _db.session.scalar(select(func.count(User.id)).where(User.email == email)) == 1
        client_id = _db.session.scalar(select(Client.id).where(Client.email == email))
        assert _db.session.scalar(select(func.count(Acceptance.id)).where(Acceptance.client_id == client_id)) == 1
        link = _db.session.get(SignupLink, link_id)
        assert link.state == LinkState.USED and link.used_by_client_id == client_id
        _db.session.remove()
