"""The billing run on committed data, in a fresh database of its own (not the per-test savepoint):
a crash half-way then a rerun, and — on PostgreSQL — two runs at the same time. Either way: every
payer gets exactly one invoice, and the numbers run 1…N with no gap."""

import threading
from datetime import UTC, date, datetime

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, insert, select

from billing import run as billing_run
from billing.models import Invoice, InvoiceLine, InvoiceSequence
from core.db import db
from partner.models import Client, Partner, Plan, Software
from tests.conftest import PG_URL, _new_database, make_config

PARTNERS, CLIENTS_PER_PARTNER = 30, 8
RUN_DAY = date(2025, 7, 1)


@pytest.fixture
def fresh_app(app, tmp_path_factory, smtp_server):
    """A second app on a brand-new database, seeded and committed; dropped afterwards."""
    from app import create_app
    from core.tasks import init_celery

    url, drop = _new_database(tmp_path_factory, "billing_run")
    other = create_app(make_config(url, smtp_server.port, tmp_path_factory.mktemp("billing-run")))
    init_celery(app)  # Celery tasks keep the suite app's context for the other tests
    with other.app_context():
        upgrade()
        _seed()
        db.session.commit()
        db.session.remove()
    yield other
    with other.app_context():
        db.engine.dispose()
    drop()


def _seed():
    software = Software(name="FazNota", url="https://software.example")
    db.session.add(software)
    db.session.flush()
    plan = Plan(software_id=software.id, name="Ouro", price_cents=11990)
    db.session.add(plan)
    db.session.flush()
    now = datetime(2024, 1, 1, 12, tzinfo=UTC)
    partner_ids = db.session.execute(insert(Partner).returning(Partner.id), [
        {"legal_name": f"Revenda {i} Ltda", "cnpj": f"{i:014d}", "email": f"r{i}@example.com", "created_at": now}
        for i in range(1, PARTNERS + 1)
    ]).scalars().all()
    db.session.execute(insert(Client), [
        {"partner_id": pid, "legal_name": f"Cliente {pid}-{n} Ltda", "cnpj": f"{pid * 100 + n:014d}",
         "email": f"c{pid}-{n}@example.com", "software_id": software.id, "plan_id": plan.id,
         "payer": "partner" if n % 2 else "client", "status": "active", "created_at": now, "updated_at": now}
        for pid in partner_ids for n in range(CLIENTS_PER_PARTNER)
    ])


EXPECTED = PARTNERS * (1 + CLIENTS_PER_PARTNER // 2)  # a partner invoice + one per self-paying client


def _check(app) -> None:
    with app.app_context():
        keys = db.session.scalars(select(Invoice.payer_key)).all()
        assert len(keys) == len(set(keys)) == EXPECTED
        numbers = sorted(int(n.split("-")[1]) for n in db.session.scalars(select(Invoice.number)))
        assert numbers == list(range(1, EXPECTED + 1))
        assert db.session.get(InvoiceSequence, RUN_DAY.year).last_number == EXPECTED
        assert db.session.scalar(select(func.count(InvoiceLine.id))) == PARTNERS * CLIENTS_PER_PARTNER
        db.session.remove()


def test_crash_then_rerun_on_committed_data(fresh_app, monkeypatch):
    real_commit = billing_run._commit_batch
    calls = {"n": 0}

    def dies_on_the_fourth_batch():
        calls["n"] += 1
        if calls["n"] == 4:
            raise ConnectionError("worker lost")
        real_commit()

    monkeypatch.setattr(billing_run, "_commit_batch", dies_on_the_fourth_batch)
    with fresh_app.app_context():
        with pytest.raises(ConnectionError):
            billing_run.run_monthly_billing("2025-06", today=RUN_DAY, batch_size=40)
        db.session.remove()
    with fresh_app.app_context():
        done = db.session.scalar(select(func.count(Invoice.id)))
        assert 0 < done < EXPECTED
        assert db.session.get(InvoiceSequence, RUN_DAY.year).last_number == done
        db.session.remove()
    monkeypatch.setattr(billing_run, "_commit_batch", real_commit)
    with fresh_app.app_context():
        result = billing_run.run_monthly_billing("2025-06", today=RUN_DAY, batch_size=40)
        assert result.invoices_created == EXPECTED - done
        db.session.remove()
    _check(fresh_app)


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="concurrent runs need PostgreSQL (TEST_DATABASE_URL)")
def test_two_runs_at_the_same_time(fresh_app):
    barrier = threading.Barrier(2)
    results, errors = [], []

    def worker():
        try:
            with fresh_app.app_context():
                barrier.wait(timeout=10)
                results.append(billing_run.run_monthly_billing("2025-06", today=RUN_DAY, batch_size=20))
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert sum(r.invoices_created for r in results) == EXPECTED
    assert all(r.invoices_created + r.invoices_skipped == EXPECTED for r in results)
    _check(fresh_app)
