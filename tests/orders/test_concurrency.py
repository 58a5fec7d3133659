"""Two concurrent cancellations of the same order credit the amount once (SQLite always, PostgreSQL
with TEST_DATABASE_URL): committed data and real concurrent transactions, on an app of its own."""

import threading

import pytest
from flask_migrate import upgrade
from sqlalchemy import select

from billing import ledger
from billing.models import CreditKind, PartnerCreditEntry
from core.db import db as _db
from core.db import write_lock
from orders import services
from orders.models import Order
from tests.conftest import PG_URL, _new_database, make_config
from tests.factories import ClientFactory, PartnerFactory
from tests.orders.helpers import make_service, order_data

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL unset"))]


@pytest.fixture(scope="module", params=BACKENDS)
def race_app(request, app, tmp_path_factory, smtp_server):
    from app import create_app
    from core.tasks import init_celery

    if request.param == "sqlite":
        url, drop = f"sqlite:///{tmp_path_factory.mktemp('orders-race') / 'race.db'}", (lambda: None)
    else:
        url, drop = _new_database(tmp_path_factory, "ordersrace")
    application = create_app(make_config(url, smtp_server.port, tmp_path_factory.mktemp("orders-race-instance")))
    init_celery(app)
    with application.app_context():
        upgrade()
    yield application
    with application.app_context():
        _db.engine.dispose()
    drop()


def _committed_order(race_app, n) -> tuple[int, int]:
    with race_app.app_context():
        partner = PartnerFactory()
        client = ClientFactory(partner=partner)
        order = services.place_order(partner, order_data(client, make_service(name=f"Arquivo {n}")))
        _db.session.commit()
        ids = order.id, partner.id
        _db.session.remove()
    return ids


@pytest.mark.parametrize("attempt", range(3))
def test_two_cancellations_credit_once(race_app, attempt):
    order_id, partner_id = _committed_order(race_app, attempt)
    # PostgreSQL: both read "awaiting documentation" before either cancels (the race the compare-and-set
    # must win). SQLite: a writer takes the write lock up front as a POST does, so they take turns.
    on_sqlite = race_app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    barrier = threading.Barrier(2, timeout=20)
    outcomes = []

    def cancel():
        with race_app.app_context(), write_lock():
            try:
                order = _db.session.get(Order, order_id)
                if not on_sqlite:
                    barrier.wait()
                services.cancel_order(order)
                _db.session.commit()
                outcomes.append("cancelled")
            except services.OrderError:
                _db.session.rollback()
                outcomes.append("refused")
            except Exception as exc:  # noqa: BLE001 - the test reports any other failure
                _db.session.rollback()
                outcomes.append(repr(exc))
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=cancel) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["cancelled", "refused"]
    with race_app.app_context():
        credits = _db.session.scalars(select(PartnerCreditEntry).where(
            PartnerCreditEntry.partner_id == partner_id, PartnerCreditEntry.kind == CreditKind.ORDER_CANCELLED)).all()
        assert len(credits) == 1
        assert ledger.balance(partner_id) == 0
        _db.session.remove()
