"""Two-factor authentication: codes (valid, wrong, replayed), recovery codes, remembered browsers, the
login's second step, enrolment, disabling, enforcement (staff, partners that require it), the admin reset."""

import re
import time
from datetime import timedelta

import pyotp
import pytest
import time_machine
from sqlalchemy import func, select

from accounts import twofactor
from accounts.twofactor import RecoveryCode, RememberedBrowser, TwoFactor
from core.audit import AuditEvent
from core.db import db as _db
from core.db import utcnow
from core.mail import OutboxEmail
from core.permissions import Role
from tests.factories import PASSWORD, TOTP_SECRET, UserFactory, enrol_two_factor

SETTINGS = "/conta/verificacao-em-duas-etapas"
ENABLE = SETTINGS + "/ativar"
VERIFY = "/login/verificacao"
TOO_MANY = "Muitas tentativas de código"
BAD_CODE = "Código inválido ou expirado"


def code_for(secret=TOTP_SECRET, when=None, steps=0) -> str:
    """The code an authenticator app shows at ``when`` (now), ``steps`` periods later or earlier."""
    moment = when.timestamp() if when is not None else time.time()
    return pyotp.TOTP(secret).generate_otp(int(moment) // 30 + steps)


def count(model, **where):
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return _db.session.scalar(query)


def actions(user) -> list[str]:
    return list(_db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == user.id,
                                                                     AuditEvent.action.like("user.%"))))


@pytest.fixture
def enrolled(manager):
    enrol_two_factor(manager)
    return manager


def enable_for(user, now=None) -> list[str]:
    """Enrol ``user`` through the service: a new secret, then a valid code from it."""
    secret = twofactor.pending_secret(user)
    return twofactor.enable(user, PASSWORD, code_for(secret, now), now=now)


def code_of(user, **kwargs) -> str:
    """The code ``user``'s authenticator shows now (whatever secret the user enrolled)."""
    return code_for(twofactor._secret(_db.session.scalar(select(TwoFactor).where(TwoFactor.user_id == user.id))),
                    **kwargs)


# -- the logic --------------------------------------------------------------------------------------


def test_enabling_stores_the_secret_encrypted_and_ten_hashed_recovery_codes(db, manager):
    secret = twofactor.pending_secret(manager)
    assert twofactor.pending_secret(manager) == secret  # the same QR until enrolment is confirmed
    row = _db.session.scalar(select(TwoFactor).where(TwoFactor.user_id == manager.id))
    assert secret.encode() not in row.secret_encrypted and row.key_id == "t1"
    assert not twofactor.is_enabled(manager)

    codes = twofactor.enable(manager, PASSWORD, code_for(secret))
    assert twofactor.is_enabled(manager)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(re.fullmatch(r"[a-z2-9]{5}-[a-z2-9]{5}", code) for code in codes)
    stored = set(_db.session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == manager.id)))
    assert len(stored) == 10 and not stored & {c.replace("-", "") for c in codes}  # hashes only
    assert "user.two_factor_enabled" in actions(manager)


@pytest.mark.parametrize("password, code, fields", [
    ("senha-errada", "good", {"password"}),
    (PASSWORD, "000000", {"code"}),
    (PASSWORD, "", {"code"}),
    (PASSWORD, None, {"code"}),
    (None, "good", {"password"}),
    (PASSWORD, "9" * 10_000, {"code"}),
])
def test_enabling_needs_the_password_and_a_code_of_the_new_secret(db, manager, password, code, fields):
    secret = twofactor.pending_secret(manager)
    if code == "good":
        code = code_for(secret)
    elif code == "000000":
        code = code_for(secret, steps=-5)
    with pytest.raises(twofactor.ValidationError) as raised:
        twofactor.enable(manager, password, code)
    assert set(raised.value.fields) == fields
    assert not twofactor.is_enabled(manager) and count(RecoveryCode, user_id=manager.id) == 0


def test_a_code_works_once_and_within_one_step_of_drift(db, enrolled):
    now = utcnow()
    assert twofactor.verify(enrolled, code_for(when=now), now=now) == "totp"
    assert twofactor.verify(enrolled, code_for(when=now), now=now) is None  # replayed: refused
    assert twofactor.verify(enrolled, code_for(when=now, steps=-1), now=now) is None  # older than the last one
    assert twofactor.verify(enrolled, code_for(when=now, steps=1), now=now) == "totp"  # the phone runs ahead
    later = now + timedelta(minutes=5)
    assert twofactor.verify(enrolled, code_for(when=later, steps=-2), now=later) is None  # too old
    assert twofactor.verify(enrolled, code_for(when=later, steps=2), now=later) is None  # too far ahead
    assert twofactor.verify(enrolled, f" {code_for(when=later)[:3]} {code_for(when=later)[3:]} ", now=later) == "totp"


@pytest.mark.parametrize("garbage", ["", "abc", "12345", "1234567", "１２３４５６", "x" * 100_000, None, 123456])
def test_garbage_is_not_a_code(db, enrolled, garbage):
    assert twofactor.verify(enrolled, garbage) is None


def test_a_user_without_2fa_has_no_valid_code(db, manager):
    twofactor.pending_secret(manager)  # enrolment started, not confirmed
    assert twofactor.verify(manager, "123456") is None


def test_recovery_codes_are_single_use_and_regenerating_voids_the_old_set(db, manager):
    codes = enable_for(manager)
    assert twofactor.verify(manager, codes[0]) == "recovery"
    assert twofactor.verify(manager, codes[0]) is None  # used
    assert twofactor.verify(manager, codes[1].upper().replace("-", " ")) == "recovery"  # typed loosely
    assert twofactor.remaining_recovery_codes(manager) == 8
    assert twofactor.verify(manager, codes[2], allow_recovery=False) is None
    used = _db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.two_factor_recovery_used")).all()
    assert [e.after for e in used] == [{"remaining": 9}, {"remaining": 8}]

    with pytest.raises(twofactor.ValidationError):
        twofactor.regenerate_recovery_codes(manager, "senha-errada")
    assert twofactor.verify(manager, codes[2]) == "recovery"  # nothing changed
    fresh = twofactor.regenerate_recovery_codes(manager, PASSWORD)
    assert twofactor.verify(manager, codes[3]) is None  # the old set is void
    assert twofactor.verify(manager, fresh[0]) == "recovery"
    assert twofactor.remaining_recovery_codes(manager) == 9
    assert "user.two_factor_codes_regenerated" in actions(manager)


def test_a_remembered_browser_lasts_thirty_days(db, enrolled, other_manager):
    token = twofactor.remember_browser(enrolled)
    assert twofactor.is_remembered(enrolled, token)
    assert not twofactor.is_remembered(other_manager, token)  # another user's browser token
    assert twofactor.is_remembered(enrolled, token, now=utcnow() + timedelta(days=29, hours=23))
    assert not twofactor.is_remembered(enrolled, token, now=utcnow() + timedelta(days=30, minutes=1))
    assert not twofactor.is_remembered(enrolled, "x" * 5000) and not twofactor.is_remembered(enrolled, None)
    row = _db.session.scalar(select(RememberedBrowser).where(RememberedBrowser.user_id == enrolled.id))
    assert row.token_hash != token


def test_disabling_needs_password_and_code_and_clears_everything(db, manager):
    codes = enable_for(manager, now=utcnow() - timedelta(minutes=2))
    twofactor.remember_browser(manager)
    with pytest.raises(twofactor.ValidationError) as wrong:
        twofactor.disable(manager, PASSWORD, code_of(manager, steps=-5))
    assert set(wrong.value.fields) == {"code"}
    with pytest.raises(twofactor.ValidationError) as no_password:
        twofactor.disable(manager, "errada", code_of(manager))
    assert set(no_password.value.fields) == {"password"}
    assert twofactor.is_enabled(manager)
    twofactor.disable(manager, PASSWORD, codes[0])  # a recovery code will do: the phone is lost
    assert not twofactor.is_enabled(manager)
    assert count(TwoFactor, user_id=manager.id) == count(RecoveryCode, user_id=manager.id) == 0
    assert count(RememberedBrowser, user_id=manager.id) == 0
    assert "user.two_factor_disabled" in actions(manager)


def test_staff_cannot_disable_it(db, admin_user):
    with pytest.raises(twofactor.ValidationError) as raised:
        twofactor.disable(admin_user, PASSWORD, code_for())
    assert "obrigatória" in raised.value.fields["code"]
    assert twofactor.is_enabled(admin_user)


def test_who_must_use_it(db, admin_user, finance_user, manager, accountant, client_user, partner):
    assert twofactor.is_required(admin_user) and twofactor.is_required(finance_user)
    assert not any(twofactor.is_required(u) for u in (manager, accountant, client_user))
    assert not twofactor.must_enroll(admin_user)  # the factory enrols staff
    assert twofactor.must_enroll(UserFactory(role=Role.ADMIN, two_factor=False))
    twofactor.set_partner_requirement(partner, True, actor=manager)
    assert twofactor.is_required(manager) and twofactor.must_enroll(manager)
    assert not twofactor.is_required(accountant) and not twofactor.is_required(client_user)
    event = _db.session.scalar(select(AuditEvent).where(AuditEvent.action == "partner.two_factor_policy"))
    assert (event.before, event.after, event.partner_id) == ({"require_two_factor": False},
                                                             {"require_two_factor": True}, partner.id)
    assert twofactor.set_partner_requirement(partner, True, actor=manager) is False  # no change, no event


def test_staff_reset_clears_everything_ends_logins_and_tells_the_user(db, admin_user, manager):
    enable_for(manager)
    twofactor.remember_browser(manager)
    from accounts.models import UserSession
    from accounts.sessions import start_session

    start_session(manager)
    with pytest.raises(twofactor.ValidationError):
        twofactor.reset_by_staff(admin_user, actor=admin_user)  # not one's own
    assert twofactor.reset_by_staff(manager, actor=admin_user) is True
    assert not twofactor.is_enabled(manager)
    for model in (TwoFactor, RecoveryCode, RememberedBrowser, UserSession):
        assert count(model, user_id=manager.id) == 0, model
    event = _db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.two_factor_reset"))
    assert event.actor_id == admin_user.id and event.object_id == manager.id
    mail = _db.session.scalar(select(OutboxEmail).where(OutboxEmail.to == manager.email))
    assert mail.kind == "two_factor_reset" and "redefiniu a verificação em duas etapas" in mail.body_text
    assert twofactor.reset_by_staff(manager, actor=admin_user) is False  # nothing left to reset
    twofactor.pending_secret(manager)  # an enrolment begun, not confirmed: cleared, nobody e-mailed
    assert twofactor.reset_by_staff(manager, actor=admin_user) is False
    assert count(TwoFactor, user_id=manager.id) == 0 and count(OutboxEmail, to=manager.email) == 1


# -- the login's second step -----------------------------------------------------------------------


def password_step(client, user, **form):
    return client.post("/login", data={"email": user.email, "password": PASSWORD, **form})


def logged_in(client) -> bool:
    return client.get("/painel").status_code == 200


def test_login_asks_for_the_code_before_logging_in(db, client, enrolled):
    response = password_step(client, enrolled)
    assert response.status_code == 302 and response.headers["Location"] == VERIFY
    assert not logged_in(client)  # no half-logged-in user
    page = client.get(VERIFY)
    assert page.status_code == 200 and "Lembrar este navegador por 30 dias" in page.get_data(as_text=True)

    wrong = client.post(VERIFY, data={"code": code_for(steps=-5)})
    assert wrong.status_code == 422 and BAD_CODE in wrong.get_data(as_text=True)
    assert not logged_in(client)

    done = client.post(VERIFY, data={"code": code_for()})
    assert done.status_code == 302 and done.headers["Location"] == "/painel"
    assert logged_in(client)
    login = _db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.login"))
    assert login.after == {"second_factor": "totp"}
    assert client.get(VERIFY).headers["Location"] == "/login"  # the pending step is gone


def test_the_next_page_survives_the_second_step(db, client, enrolled):
    client.post("/login?next=/meus-dados", data={"email": enrolled.email, "password": PASSWORD})
    assert client.post(VERIFY, data={"code": code_for()}).headers["Location"] == "/meus-dados"


@pytest.mark.parametrize("form", [{}, {"code": ""}, {"code": "x" * 200_000}, {"code": "<script>"},
                                  {"code": "12345"}, {"code": "abcde-fghij"}])
def test_bad_codes_get_a_clear_message_and_change_nothing(db, client, enrolled, form):
    password_step(client, enrolled)
    response = client.post(VERIFY, data=form)
    assert response.status_code == 422
    assert BAD_CODE in response.get_data(as_text=True)
    assert not logged_in(client)
    assert _db.session.scalar(select(TwoFactor.last_step).where(TwoFactor.user_id == enrolled.id)) is None


def test_cancelling_the_second_step_forgets_it(db, client, enrolled):
    password_step(client, enrolled)
    assert client.post("/logout").headers["Location"] == "/login"
    assert client.get(VERIFY).headers["Location"] == "/login"


def test_the_pending_step_expires(db, client, enrolled):
    password_step(client, enrolled)
    with time_machine.travel(utcnow() + timedelta(minutes=6)):
        response = client.post(VERIFY, data={"code": code_for()})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert not logged_in(client)


def test_a_password_change_voids_the_pending_step(db, client, enrolled):
    password_step(client, enrolled)
    enrolled.set_password("uma-senha-trocada-agora")  # reset by e-mail meanwhile
    response = client.post(VERIFY, data={"code": code_for()})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert not logged_in(client)


def test_code_entry_is_rate_limited_per_account(db, client, enrolled):
    password_step(client, enrolled)
    for _attempt in range(5):
        assert client.post(VERIFY, data={"code": "abc"}).status_code == 422
    blocked = client.post(VERIFY, data={"code": code_for()})  # even the right code waits
    assert blocked.status_code == 429 and TOO_MANY in blocked.get_data(as_text=True)
    assert not logged_in(client)


def test_a_recovery_code_logs_in_once(db, client, manager):
    codes = enable_for(manager, now=utcnow() - timedelta(minutes=2))
    password_step(client, manager)
    response = client.post(VERIFY, data={"code": codes[4]})
    assert response.status_code == 302
    assert "restam 9" in client.get("/painel").get_data(as_text=True)
    client.post("/logout")
    password_step(client, manager)
    again = client.post(VERIFY, data={"code": codes[4]})
    assert again.status_code == 422 and not logged_in(client)


def test_remembered_browser_skips_the_code_until_the_password_changes(db, client, enrolled):
    password_step(client, enrolled)
    response = client.post(VERIFY, data={"code": code_for(), "remember_browser": "on"})
    cookie = client.get_cookie(twofactor.REMEMBER_COOKIE)
    assert cookie is not None and cookie.http_only and cookie.value not in str(
        _db.session.scalars(select(RememberedBrowser.token_hash)).all())
    assert response.status_code == 302
    client.post("/logout")
    assert password_step(client, enrolled).headers["Location"] == "/painel"  # no code this time
    client.post("/senha", data={"current_password": PASSWORD, "new_password": "outra-senha-longa",
                                "confirm_password": "outra-senha-longa"})
    client.post("/logout")
    second = client.post("/login", data={"email": enrolled.email, "password": "outra-senha-longa"})
    assert second.headers["Location"] == VERIFY  # the password changed: the browser is forgotten


def test_another_users_remembered_browser_does_not_skip_the_code(db, client, enrolled, other_manager):
    enrol_two_factor(other_manager)
    client.set_cookie(twofactor.REMEMBER_COOKIE, twofactor.remember_browser(other_manager))
    assert password_step(client, enrolled).headers["Location"] == VERIFY


# -- enrolment, settings, disabling through the pages --------------------------------------------------


def shown_codes(html: str) -> list[str]:
    return re.findall(r"<li class=\"col mb-1\">([a-z2-9]{5}-[a-z2-9]{5})</li>", html)


def page_secret(html: str) -> str:
    return re.search(r'data-testid="two-factor-secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")


def test_enrolment_page_shows_qr_and_secret_and_enables_with_a_code(db, client, login_as, manager):
    login_as(manager)
    page = client.get(ENABLE)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert 'src="data:image/svg+xml' in html
    secret = page_secret(html)
    assert page_secret(client.get(ENABLE).get_data(as_text=True)) == secret  # stable until confirmed

    bad = client.post(ENABLE, data={"password": PASSWORD, "code": "12"})
    assert bad.status_code == 422 and BAD_CODE in bad.get_data(as_text=True)
    assert not twofactor.is_enabled(manager)
    no_password = client.post(ENABLE, data={"code": code_for(secret)})
    assert no_password.status_code == 422 and "Senha incorreta." in no_password.get_data(as_text=True)
    assert not twofactor.is_enabled(manager)

    done = client.post(ENABLE, data={"password": PASSWORD, "code": code_for(secret)})
    html = done.get_data(as_text=True)
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store"
    assert len(shown_codes(html)) == 10
    assert twofactor.is_enabled(manager)
    assert client.get(ENABLE).headers["Location"] == SETTINGS  # already on
    assert "10 de 10" in client.get(SETTINGS).get_data(as_text=True)


def test_settings_regenerate_and_disable(db, client, login_as, manager):
    enable_for(manager, now=utcnow() - timedelta(minutes=2))
    login_as(manager)
    wrong = client.post(SETTINGS + "/codigos", data={"password": "errada"})
    assert wrong.status_code == 422 and "Senha incorreta." in wrong.get_data(as_text=True)
    fresh = client.post(SETTINGS + "/codigos", data={"password": PASSWORD})
    assert fresh.status_code == 200 and len(shown_codes(fresh.get_data(as_text=True))) == 10

    refused = client.post(SETTINGS + "/desativar", data={"password": PASSWORD, "code": "x" * 5000})
    assert refused.status_code == 422 and BAD_CODE in refused.get_data(as_text=True)
    assert twofactor.is_enabled(manager)
    done = client.post(SETTINGS + "/desativar", data={"password": PASSWORD, "code": code_of(manager)})
    assert done.status_code == 302 and not twofactor.is_enabled(manager), done.get_data(as_text=True)[-3000:]


def test_staff_are_told_they_cannot_disable(db, client, login_as, admin_user):
    login_as(admin_user)
    html = client.get(SETTINGS).get_data(as_text=True)
    assert 'data-testid="two-factor-mandatory"' in html and "/desativar" not in html
    response = client.post(SETTINGS + "/desativar", data={"password": PASSWORD, "code": code_for()})
    assert response.status_code == 422 and twofactor.is_enabled(admin_user)


# -- enforcement ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/admin/", "/admin/users/", "/senha", "/painel", "/conta/qualquer"])
def test_staff_without_2fa_can_do_nothing_but_enrol(db, client, login_as, url):
    staff = UserFactory(role=Role.FINANCE, two_factor=False)
    login_as(staff)
    response = client.get(url)
    assert response.status_code == 302 and response.headers["Location"] == ENABLE
    assert "obrigatória" in client.get(ENABLE).get_data(as_text=True)
    assert client.post("/logout").headers["Location"] == "/login"  # leaving is allowed


def test_staff_meet_enrolment_right_after_login(db, client):
    staff = UserFactory(role=Role.ADMIN, two_factor=False)
    first = client.post("/login", data={"email": staff.email, "password": PASSWORD})
    assert client.get(first.headers["Location"]).headers["Location"] == ENABLE
    secret = page_secret(client.get(ENABLE).get_data(as_text=True))
    assert client.post(ENABLE, data={"password": PASSWORD, "code": code_for(secret)}).status_code == 200
    assert client.get("/admin/").status_code == 200


def test_a_partner_requires_it_from_meus_dados(db, client, login_as, manager, partner):
    other = UserFactory(role=Role.MANAGER, partner=partner)
    login_as(manager)
    assert "Exigir de todos os gestores" in client.get("/meus-dados?tab=seguranca").get_data(as_text=True)
    response = client.post("/meus-dados/seguranca", data={"require_two_factor": "1"})
    assert response.status_code == 302 and partner.require_two_factor is True
    assert client.get("/painel").headers["Location"] == ENABLE  # the manager too, right away
    assert _db.session.scalar(select(AuditEvent.after).where(AuditEvent.action == "partner.two_factor_policy")) \
        == {"require_two_factor": True}
    login_as(other)
    assert client.get("/painel").headers["Location"] == ENABLE
    enrol_two_factor(other)
    assert client.get("/painel").status_code == 200
    client.post("/meus-dados/seguranca", data={"require_two_factor": "0"})
    assert partner.require_two_factor is False
    login_as(manager)
    assert client.get("/painel").status_code == 200


# -- the staff admin's reset --------------------------------------------------------------------------------


def test_admin_resets_a_users_2fa_and_sees_no_secret(db, client, login_as, admin_user, manager):
    enable_for(manager)
    login_as(admin_user)
    details = client.get(f"/admin/users/details/?id={manager.id}").get_data(as_text=True)
    assert "Verificação em duas etapas" in details and "Ativada" in details
    secret = twofactor._secret(_db.session.scalar(select(TwoFactor).where(TwoFactor.user_id == manager.id)))
    assert secret not in details
    response = client.post("/admin/users/action/", data={"action": "reset_two_factor", "rowid": [manager.id]})
    assert response.status_code == 302
    assert not twofactor.is_enabled(manager)
    assert _db.session.scalar(select(OutboxEmail).where(OutboxEmail.to == manager.email,
                                                        OutboxEmail.kind == "two_factor_reset"))
    assert password_step(client, manager).headers["Location"] == "/painel"  # password only now


def test_finance_cannot_reset(db, client, login_as, finance_user, manager):
    enable_for(manager)
    login_as(finance_user)
    response = client.post("/admin/users/action/", data={"action": "reset_two_factor", "rowid": [manager.id]})
    assert response.status_code == 403 and twofactor.is_enabled(manager)


def test_the_secrets_follow_a_master_key_rotation(app, db, enrolled, monkeypatch):
    """``flask certificates rewrap`` re-wraps the TOTP secrets too: codes still work with the old key gone."""
    from core.crypto import generate_master_key

    db.session.commit()
    old_entry, new_entry = app.config["MASTER_KEYS"], f"t2:{generate_master_key()}"
    monkeypatch.setitem(app.config, "MASTER_KEYS", f"{old_entry},{new_entry}")
    monkeypatch.setitem(app.config, "MASTER_KEY_ACTIVE", "t2")
    result = app.test_cli_runner().invoke(args=["certificates", "rewrap"])
    assert result.exit_code == 0 and "user_two_factor: 1/1" in result.output, result.output
    monkeypatch.setitem(app.config, "MASTER_KEYS", new_entry)
    monkeypatch.setitem(app.config, "MASTER_KEY_ACTIVE", None)
    assert twofactor.verify(enrolled, code_for()) == "totp"
