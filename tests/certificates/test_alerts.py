"""Expiry alerts: 30, 15, 7 and 1 days before and on expiry, each once, to the partner's managers
and the client, through the real SMTP server; days pass with time travel."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from certhelpers import store_certificate  # noqa: I001 - tests/certificates/certhelpers.py
from sqlalchemy import select

from certificates import services
from certificates.models import CertificateAlert
from core.db import db as _db
from core.permissions import Role
from partner.models import ContractStatus
from tests.factories import ClientFactory, UserFactory

#: Expiry 60 days from now at 15:00 UTC (noon in Brasília, the same calendar day); issued a year before.
NOT_AFTER = (datetime.now(UTC) + timedelta(days=60)).replace(hour=15, minute=0, second=0, microsecond=0)
ISSUED = NOT_AFTER - timedelta(days=340)


@pytest.fixture
def people(db, partner, manager, client_row, other_manager):
    """Two active managers of the partner, one inactive one, and another partner's manager."""
    second = UserFactory(role=Role.MANAGER, partner=partner, email="segundo.gestor@revenda.example")
    UserFactory(role=Role.MANAGER, partner=partner, email="ex.gestor@revenda.example", is_active=False)
    return sorted([manager.email, second.email, client_row.email])


def run_on(moment: datetime, deliver_mail) -> int:
    with time_machine.travel(moment, tick=False):
        sent = services.send_expiry_alerts()
    deliver_mail()
    return sent


def test_each_threshold_alerts_once(people, client_row, other_manager, inbox, deliver_mail, db):
    store_certificate(client_row, not_before=ISSUED, not_after=NOT_AFTER)
    schedule = [
        (NOT_AFTER - timedelta(days=31), 0, None),
        (NOT_AFTER - timedelta(days=30), 1, "vence em 30 dias"),
        (NOT_AFTER - timedelta(days=30) + timedelta(hours=2), 0, None),  # the same day again
        (NOT_AFTER - timedelta(days=20), 0, None),
        (NOT_AFTER - timedelta(days=15), 1, "vence em 15 dias"),
        (NOT_AFTER - timedelta(days=14, hours=20), 0, None),
        (NOT_AFTER - timedelta(days=7), 1, "vence em 7 dias"),
        (NOT_AFTER - timedelta(days=1), 1, "vence em 1 dia"),
        (NOT_AFTER - timedelta(hours=3), 0, None),
        (NOT_AFTER + timedelta(minutes=1), 1, "venceu"),
        (NOT_AFTER + timedelta(days=5), 0, None),
    ]
    for moment, expected, subject in schedule:
        inbox.clear()
        assert run_on(moment, deliver_mail) == expected, moment
        if expected:
            messages = inbox.wait_for(3)
            assert sorted(m["To"] for m in messages) == people
            assert all(subject in m["Subject"] for m in messages), [m["Subject"] for m in messages]
            assert other_manager.email not in [m["To"] for m in messages]
        else:
            assert inbox.messages == []
    thresholds = _db.session.scalars(select(CertificateAlert.threshold).order_by(CertificateAlert.id)).all()
    assert thresholds == [30, 15, 7, 1, 0]


def test_alert_contents_for_manager_and_client(people, manager, client_row, inbox, deliver_mail):
    cert = store_certificate(client_row, not_before=ISSUED, not_after=NOT_AFTER)
    assert run_on(NOT_AFTER - timedelta(days=7), deliver_mail) == 1
    inbox.wait_for(3)
    to_manager = inbox.to(manager.email)[0].get_body(("plain",)).get_content()
    to_client = inbox.to(client_row.email)[0].get_body(("plain",)).get_content()
    for body in (to_manager, to_client):
        assert client_row.legal_name in body
        assert f"vence em 7 dias, em {NOT_AFTER:%d/%m/%Y}" in body
        assert cert.fingerprint_sha256 in body
    assert f"/clientes/{client_row.id}?tab=certificado" in to_manager  # where to upload the new one
    assert "envie-o à sua revenda" in to_client and "/clientes/" not in to_client


def test_missed_days_send_only_the_most_urgent_alert(people, client_row, inbox, deliver_mail):
    store_certificate(client_row, not_before=ISSUED, not_after=NOT_AFTER)
    assert run_on(NOT_AFTER - timedelta(days=5), deliver_mail) == 1
    assert {m["Subject"] for m in inbox.wait_for(3)} == {
        f"Certificado digital de {client_row.trade_name} vence em 5 dias"
    }
    assert run_on(NOT_AFTER - timedelta(days=4), deliver_mail) == 0
    assert run_on(NOT_AFTER - timedelta(hours=20), deliver_mail) == 1
    assert _db.session.scalars(select(CertificateAlert.threshold).order_by(CertificateAlert.id)).all() == [7, 1]


def test_cancelled_clients_and_replaced_certificates_get_no_alerts(people, partner, plan, client_row, inbox,
                                                                  deliver_mail):
    cancelled = ClientFactory(partner=partner, plan=plan, status=ContractStatus.CANCELLED)
    store_certificate(cancelled, not_before=ISSUED, not_after=NOT_AFTER)
    store_certificate(client_row, not_before=ISSUED, not_after=NOT_AFTER)  # replaced below
    store_certificate(client_row, not_before=ISSUED, not_after=NOT_AFTER + timedelta(days=365),
                      now=ISSUED + timedelta(days=1))
    assert run_on(NOT_AFTER - timedelta(days=1), deliver_mail) == 0
    assert inbox.messages == []


def test_blocked_clients_are_still_alerted(people, client_row, deliver_mail, inbox):
    client_row.status = ContractStatus.BLOCKED
    store_certificate(client_row, not_before=ISSUED, not_after=NOT_AFTER)
    assert run_on(NOT_AFTER, deliver_mail) == 1
    assert "venceu" in inbox.wait_for(3)[0]["Subject"]


def test_the_daily_task_is_registered_and_scheduled(app, people, client_row):
    from core.tasks import celery

    task = celery.tasks["certificates.send_expiry_alerts"]
    entry = celery.conf.beat_schedule["certificate-expiry-alerts"]
    assert entry["task"] == "certificates.send_expiry_alerts"
    store_certificate(client_row, not_before=ISSUED, not_after=NOT_AFTER)
    with time_machine.travel(NOT_AFTER - timedelta(days=15), tick=False):
        assert task.run() == 1  # the task body is the service
        assert task.run() == 0
