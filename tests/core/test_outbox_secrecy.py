"""No credential-bearing link is readable by staff or stored in plain text: the outbox seals bodies at
rest, the staff admin shows that a message was sent and to whom, never its body; the embedded default
shows kept messages on the worker's console and through ``flask mail show``, never in production."""

import logging
import re

import pytest
from sqlalchemy import text

from accounts.services import send_first_access, send_password_reset
from core.mail import OutboxEmail, OutboxStatus, deliver_pending
from tests.factories import UserFactory


@pytest.fixture
def config(app):
    saved = {}

    def change(**values):
        for key, value in values.items():
            saved.setdefault(key, app.config[key])
            app.config[key] = value

    yield change
    app.config.update(saved)


@pytest.fixture
def reset_for_admin(db, admin_user):
    """A reset asked (by anyone) for the admin's address: the mail that took over accounts before."""
    send_password_reset(admin_user.email)
    db.session.commit()
    row = db.session.scalars(db.select(OutboxEmail).where(OutboxEmail.to == admin_user.email)).one()
    token = re.search(r"/redefinir-senha/(\S+)", row.body_text).group(1)
    return row, token


def test_finance_sees_that_the_reset_was_sent_but_never_the_link(db, login_as, finance_user, admin_user,
                                                                  reset_for_admin):
    row, token = reset_for_admin
    http = login_as(finance_user)
    pages = [http.get("/admin/outbox/"), http.get(f"/admin/outbox/details/?id={row.id}"),
             http.get("/admin/outbox/export/csv/"), http.get(f"/admin/outbox/?search={admin_user.email}")]
    assert [page.status_code for page in pages] == [200, 200, 200, 200]
    details = pages[1].get_data(as_text=True)
    assert admin_user.email in details and "Redefinição de senha" in details  # sent, to whom, what about
    for page in pages:
        body = page.get_data(as_text=True)
        assert token not in body and token[:20] not in body
        assert "/redefinir-senha/" not in body
    assert http.get(f"/redefinir-senha/{token}").status_code == 200  # the link works: only its owner has it


def test_the_stored_row_holds_no_plain_text(db, reset_for_admin, admin_user):
    row, token = reset_for_admin
    raw = db.session.execute(text("SELECT * FROM outbox_emails WHERE id = :id"), {"id": row.id}).one()
    stored = b"".join(bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for v in raw)
    assert token.encode() not in stored and b"redefinir-senha" not in stored
    assert admin_user.email.encode() in stored  # the recipient stays readable for staff


def test_sending_delivers_the_link_then_forgets_the_body(db, inbox, reset_for_admin, admin_user):
    row, token = reset_for_admin
    assert deliver_pending() == 1
    [message] = inbox.wait_for(1)
    assert token in message.get_body(("plain",)).get_content()
    assert row.status == OutboxStatus.SENT
    assert (row.text_sealed, row.html_sealed, row.body_text) == (None, None, "")


def test_embedded_default_prints_kept_mail_on_the_worker_console(db, config, caplog):
    config(MAIL_BACKEND="outbox", PRODUCTION=False)
    newcomer = UserFactory(email="novata@alfa.example", password_hash=None)
    send_first_access(newcomer)
    with caplog.at_level(logging.WARNING, logger="core.mail"):
        assert deliver_pending() == 1
    assert "novata@alfa.example" in caplog.text and "/primeiro-acesso/" in caplog.text


def test_production_never_prints_kept_mail(db, config, caplog):
    config(MAIL_BACKEND="outbox", PRODUCTION=True)
    send_first_access(UserFactory(email="gestora@alfa.example", password_hash=None))
    with caplog.at_level(logging.DEBUG):
        assert deliver_pending() == 1
    assert "/primeiro-acesso/" not in caplog.text


def test_mail_show_reads_kept_mail_in_the_embedded_default_only(app, db, config):
    config(MAIL_BACKEND="outbox", PRODUCTION=False)
    send_first_access(UserFactory(email="novato@alfa.example", password_hash=None))
    deliver_pending()
    runner = app.test_cli_runner()
    shown = runner.invoke(args=["mail", "show", "--to", "NOVATO@alfa.example"])
    assert shown.exit_code == 0, shown.output
    assert "Para: novato@alfa.example" in shown.output and "/primeiro-acesso/" in shown.output
    listed = runner.invoke(args=["mail", "list"])
    assert listed.exit_code == 0 and "novato@alfa.example" in listed.output

    config(PRODUCTION=True)
    refused = runner.invoke(args=["mail", "show", "--to", "novato@alfa.example"])
    assert refused.exit_code != 0 and "/primeiro-acesso/" not in refused.output
    assert "only readable here in the embedded default" in refused.output
    config(PRODUCTION=False, MAIL_BACKEND="smtp")
    assert runner.invoke(args=["mail", "show"]).exit_code != 0
