"""Password in the portal (seed C, E, F): "Alterar senha" with the exact message, and staff's reset link
(audited, never a password)."""

from sqlalchemy import select

from core.audit import AuditEvent
from core.mail import OutboxEmail
from tests.factories import PASSWORD


def test_alterar_senha_says_exactly_so(login_as, accountant, db):
    http = login_as(accountant)
    response = http.post("/senha", data={"current_password": PASSWORD, "new_password": "nova-senha-123",
                                         "confirm_password": "nova-senha-123"}, follow_redirects=True)
    assert response.status_code == 200 and "Senha alterada com sucesso" in response.get_data(as_text=True)
    assert accountant.check_password("nova-senha-123")


def test_staff_sends_a_reset_link_never_a_password(login_as, admin_user, accountant, db):
    before = accountant.password_hash
    response = login_as(admin_user).post("/admin/users/action/", data={"action": "send_reset", "rowid": accountant.id})
    assert response.status_code == 302
    [message] = db.session.scalars(select(OutboxEmail).where(OutboxEmail.to == accountant.email)).all()
    assert message.kind == "password_reset" and "/redefinir-senha/" in message.body_text
    db.session.refresh(accountant)
    assert accountant.password_hash == before  # nothing set: the user chooses through the link
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.reset_link_sent"))
    assert event.actor_id == admin_user.id and event.object_id == accountant.id
