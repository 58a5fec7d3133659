"""The transactional outbox: queued in the caller's transaction, delivered over SMTP with retries."""

import time

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select

from core.mail import OutboxEmail, OutboxStatus, deliver_pending, queue_email
from core.mail_tasks import DeliveryFailed, deliver_email
from tests.conftest import free_port
from tests.factories import UserFactory


def count(db) -> int:
    return db.session.scalar(select(func.count(OutboxEmail.id)))


def queue_reset_mail(to="maria@empresa.example"):
    user = UserFactory.build(email=to, name="Maria")
    return queue_email(to, "Redefinição de senha — Revenda", "password_reset", kind="password_reset", user=user,
                       link="http://localhost/redefinir-senha/abc123")


@pytest.fixture
def config(app):
    """Change app.config for one test and put it back after."""
    saved = {}

    def change(**values):
        for key, value in values.items():
            saved.setdefault(key, app.config[key])
            app.config[key] = value

    yield change
    app.config.update(saved)


def test_queued_message_is_delivered_over_smtp(app, db, inbox, deliver_mail):
    row = queue_reset_mail()
    assert row.status == OutboxStatus.PENDING and row.attempts == 0
    assert deliver_mail() == 1
    [message] = inbox.wait_for(1)
    assert message["Subject"] == "Redefinição de senha — Revenda"
    assert message["To"] == "maria@empresa.example"
    assert message["From"] == app.config["MAIL_DEFAULT_SENDER"]
    assert message["Message-ID"]
    body = message.get_body(("plain",)).get_content()
    assert "Olá, Maria!" in body and "http://localhost/redefinir-senha/abc123" in body
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.SENT, 1, None)
    assert row.sent_at is not None
    assert deliver_mail() == 0  # nothing pending: a second sweep sends nothing again
    time.sleep(0.2)
    assert len(inbox.messages) == 1


def test_failed_attempts_are_retried_then_marked_failed(db, inbox, config, deliver_mail):
    config(MAIL_PORT=free_port(), MAIL_MAX_ATTEMPTS=3)  # nobody listens there
    row = queue_reset_mail()
    assert deliver_mail() == 0
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 1)
    assert "ConnectionRefusedError" in row.last_error
    deliver_mail()
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 2)
    deliver_mail()
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 3)
    deliver_mail()
    assert row.attempts == 3  # a failed message is left for staff, not retried forever
    assert inbox.messages == []


def test_task_raises_for_a_retry_and_keeps_the_attempt(db, inbox, config):
    config(MAIL_PORT=free_port())
    row = queue_reset_mail()
    db.session.commit()
    with pytest.raises(DeliveryFailed):
        deliver_email(row.id)
    db.session.expire_all()
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 1)
    config(MAIL_PORT=inbox.port)
    assert deliver_email(row.id) is True
    db.session.expire_all()
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 2)
    assert len(inbox.wait_for(1)) == 1
    assert deliver_email(987654) is False  # a message that no longer exists


def test_rolled_back_transaction_leaves_no_outbox_row(db, inbox, deliver_mail):
    db.session.commit()
    before = count(db)
    queue_reset_mail()
    assert count(db) == before + 1
    db.session.rollback()
    assert count(db) == before
    assert "outbox_new" not in db.session.info  # nothing will be dispatched after a later commit
    assert deliver_mail() == 0
    assert inbox.messages == []


def test_embedded_default_keeps_messages_without_sending(db, inbox, config, deliver_mail):
    config(MAIL_BACKEND="outbox")
    row = queue_reset_mail()
    assert deliver_mail() == 1
    assert (row.status, row.attempts, row.sent_at) == (OutboxStatus.KEPT, 0, None)
    time.sleep(0.2)
    assert inbox.messages == []


def test_sweep_delivers_every_pending_message(db, inbox):
    for n in range(3):
        queue_reset_mail(f"pessoa{n}@empresa.example")
    assert deliver_pending() == 3
    assert sorted(m["To"] for m in inbox.wait_for(3)) == [f"pessoa{n}@empresa.example" for n in range(3)]


@pytest.mark.slow
def test_real_celery_worker_delivers_committed_mail(fresh_app, inbox):
    """A real worker thread (solo pool, in-memory broker) runs the task against committed data."""
    from celery.contrib.testing.worker import start_worker

    from core.db import db
    from core.tasks import celery

    with fresh_app.app_context():
        upgrade()
    celery.control.purge()  # deliveries queued by earlier tests' commits are not this test's business
    with start_worker(celery, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        with fresh_app.test_request_context():
            row = queue_reset_mail("worker@empresa.example")
            db.session.commit()  # the after-commit hook enqueues the delivery too
            message_id = row.id
            deliver_email.delay(message_id)  # a second delivery of the same message must be a no-op
        [message] = inbox.wait_for(1, timeout=15)
        assert message["To"] == "worker@empresa.example"
        time.sleep(0.5)
    assert len(inbox.messages) == 1
    with fresh_app.app_context():
        saved = db.session.get(OutboxEmail, message_id)
        assert (saved.status, saved.attempts) == (OutboxStatus.SENT, 1)
        db.session.remove()
