"""The accountants' links, rule by rule (partner/accountants.py): the exact audit rows each step writes, the
invitation e-mail (recipient, subject, sender, body with the single-use link and its validity), the 14 days,
the messages refused input gets, the order of the lists and the state each transition leaves."""

import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from accounts.models import User
from core.audit import AuditEvent
from core.db import utcnow
from core.mail import OutboxEmail
from core.permissions import Role
from core.validators import ValidationError
from partner import accountants
from partner.models import AccountantLink, LinkStatus
from tests.factories import ClientFactory, UserFactory, link_accountant

ACCEPT_URL = re.compile(r"http://localhost/contador/aceite/([A-Za-z0-9_-]+)")


def last_event_id(db) -> int:
    return db.session.scalar(select(func.max(AuditEvent.id))) or 0


def events_since(db, mark: int) -> list[tuple]:
    """The audit rows written after ``mark``: (action, object, actor id, actor label, partner, client, before,
    after)."""
    db.session.flush()
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.id > mark).order_by(AuditEvent.id))
    return [(e.action, e.object_type, e.object_id, e.actor_id, e.actor_label, e.partner_id, e.client_id, e.before,
             e.after) for e in rows]


def outbox_to(db, email: str) -> list[OutboxEmail]:
    db.session.flush()
    return list(db.session.scalars(select(OutboxEmail).where(OutboxEmail.to == email).order_by(OutboxEmail.id)))


def token_in(message: OutboxEmail) -> str:
    [token] = ACCEPT_URL.findall(message.body_text)
    return token


@pytest.fixture
def company(partner, plan):
    return ClientFactory(partner=partner, plan=plan, legal_name="Padaria Pão Quente Ltda", cnpj="11222333000181",
                         accountant_email=None)


# -- the invitation: link row, e-mail, audit ---------------------------------------------------------------------


def test_an_invitation_writes_a_pending_link_an_email_and_an_audit_row(db, partner, company, manager):
    mark = last_event_id(db)
    before = utcnow()
    link = accountants.invite_accountant(company, "  Escritorio@Contabil.Example ", actor=manager)
    after = utcnow()

    assert (link.client_id, link.email, link.status) == (company.id, "escritorio@contabil.example",
                                                         LinkStatus.PENDING)
    assert link.invited_by_id == manager.id and link.ended_at is None and link.user_id is None
    assert before <= link.invited_at <= after
    assert link.expires_at - link.invited_at == timedelta(days=14) == timedelta(days=accountants.INVITE_DAYS)

    [message] = outbox_to(db, "escritorio@contabil.example")
    assert message.subject == f"{partner} – Notas Padaria Pão Quente Ltda"
    assert (message.kind, message.partner_id, message.sender_name) == ("accountant_invitation", partner.id,
                                                                       str(partner))
    body = message.body_text
    assert f"{partner} informou este e-mail como contador(a) da empresa Padaria Pão Quente Ltda " \
           f"(CNPJ 11222333000181)." in body
    assert "O link vale por 14 dias e pode ser usado uma vez." in body
    token = token_in(message)
    assert len(token) == 43  # 32 random bytes, URL-safe base64
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert accountants.load_invitation(token) is link

    assert events_since(db, mark) == [
        ("accountant.invited", "accountantlink", link.id, manager.id, manager.email, partner.id, company.id, None,
         {"email": "escritorio@contabil.example"}),
    ]


def test_the_invitation_reaches_the_inbox_from_the_partner(db, partner, company, manager, inbox, deliver_mail):
    accountants.invite_accountant(company, "caixa@contabil.example", actor=manager)
    deliver_mail()
    [message] = inbox.to("caixa@contabil.example")
    assert message["Subject"] == f"{partner} – Notas Padaria Pão Quente Ltda"
    assert message["From"].addresses[0].display_name == str(partner)
    assert "/contador/aceite/" in message.get_body(("plain",)).get_content()


def test_the_validity_comes_from_the_configuration(app, db, company, monkeypatch):
    monkeypatch.setitem(app.config, "ACCOUNTANT_INVITE_DAYS", 3)
    link = accountants.invite_accountant(company, "rapido@contabil.example")
    assert link.expires_at - link.invited_at == timedelta(days=3)
    [message] = outbox_to(db, "rapido@contabil.example")
    assert "O link vale por 3 dias" in message.body_text


def test_an_invitation_by_the_system_has_no_actor(db, partner, company):
    mark = last_event_id(db)
    link = accountants.invite_accountant(company, "sistema@contabil.example")
    assert link.invited_by_id is None
    assert events_since(db, mark) == [
        ("accountant.invited", "accountantlink", link.id, None, "sistema", partner.id, company.id, None,
         {"email": "sistema@contabil.example"}),
    ]


def test_a_new_accountant_gets_a_login_without_password_and_an_existing_one_is_reused(db, company, manager):
    accountants.invite_accountant(company, "Novo@Contabil.example", actor=manager)
    user = db.session.scalar(select(User).where(User.email == "novo@contabil.example"))
    assert user.role == Role.ACCOUNTANT and user.password_hash is None
    existing = UserFactory(role=Role.ACCOUNTANT, email="antigo@contabil.example")
    users = db.session.scalar(select(func.count(User.id)))
    link = accountants.invite_accountant(company, "ANTIGO@contabil.example", actor=manager)
    assert db.session.scalar(select(func.count(User.id))) == users
    assert accountants.invited_user(link) is existing


@pytest.mark.parametrize("email, message", [
    ("contador@", "E-mail inválido."),
    ("xxxx", "E-mail inválido."),
    ("", "Informe o e-mail."),
])
def test_a_bad_email_is_refused_naming_the_field_and_nothing_is_saved(db, company, manager, email, message):
    def counts():
        return tuple(db.session.scalar(select(func.count(m.id))) for m in (AccountantLink, OutboxEmail, User, AuditEvent))

    before = counts()
    with pytest.raises(ValidationError) as exc:
        accountants.invite_accountant(company, email, actor=manager)
    assert exc.value.fields == {"accountant_email": message}
    with pytest.raises(ValidationError) as exc:
        accountants.invite_accountant(company, email, actor=manager, field="email")
    assert exc.value.fields == {"email": message}
    assert counts() == before


def test_naming_an_accepted_accountant_again_changes_nothing(db, accountant, client_row, manager):
    [link] = accountants.links_of(client_row)
    assert link.status == LinkStatus.ACCEPTED
    mark = last_event_id(db)
    assert accountants.invite_accountant(client_row, accountant.email.upper(), actor=manager) is link
    assert link.status == LinkStatus.ACCEPTED and link.token_hash is None and link.invited_by_id is None
    assert outbox_to(db, accountant.email) == [] and events_since(db, mark) == []


@pytest.mark.parametrize("ended", [LinkStatus.DECLINED, LinkStatus.REMOVED])
def test_inviting_again_after_an_end_reuses_the_row_with_a_fresh_link(db, partner, company, manager, ended):
    first = accountants.invite_accountant(company, "volta@contabil.example")
    [message] = outbox_to(db, "volta@contabil.example")
    old_token = token_in(message)
    if ended == LinkStatus.DECLINED:
        accountants.decline_invitation(first)
    else:
        accountants.revoke_link(first)
    assert first.ended_at is not None
    mark = last_event_id(db)
    again = accountants.invite_accountant(company, "volta@contabil.example", actor=manager)
    assert again is first and again.id == first.id
    assert (again.status, again.ended_at, again.invited_by_id) == (LinkStatus.PENDING, None, manager.id)
    assert db.session.scalar(select(func.count(AccountantLink.id)).where(AccountantLink.client_id == company.id)) == 1
    assert len(outbox_to(db, "volta@contabil.example")) == 2
    new_token = token_in(outbox_to(db, "volta@contabil.example")[1])
    assert accountants.load_invitation(new_token) is again
    with pytest.raises(accountants.LinkInvalid):
        accountants.load_invitation(old_token)
    assert events_since(db, mark) == [
        ("accountant.invited", "accountantlink", again.id, manager.id, manager.email, partner.id, company.id, None,
         {"email": "volta@contabil.example"}),
    ]


def test_the_same_accountant_is_invited_separately_for_each_company(db, accountant, client_row, partner, plan):
    [accepted] = accountants.links_of(client_row)
    second = ClientFactory(partner=partner, plan=plan)
    link = accountants.invite_accountant(second, accountant.email)
    assert link is not accepted
    assert (link.client_id, link.status, link.email) == (second.id, LinkStatus.PENDING, accountant.email)
    assert accepted.status == LinkStatus.ACCEPTED and accepted.client_id == client_row.id
    assert len(outbox_to(db, accountant.email)) == 1


# -- resending -----------------------------------------------------------------------------------------------------


def test_resending_a_pending_invitation_sends_a_new_link_and_audits_it(db, partner, company, manager):
    link = accountants.invite_accountant(company, "reenvio@contabil.example")
    [first] = outbox_to(db, "reenvio@contabil.example")
    old_token = token_in(first)
    mark = last_event_id(db)
    accountants.resend_invitation(link, actor=manager)
    second = outbox_to(db, "reenvio@contabil.example")[1]
    assert second.subject == first.subject and second.kind == "accountant_invitation"
    assert accountants.load_invitation(token_in(second)) is link
    with pytest.raises(accountants.LinkInvalid):
        accountants.load_invitation(old_token)
    assert events_since(db, mark) == [
        ("accountant.resent", "accountantlink", link.id, manager.id, manager.email, partner.id, company.id, None,
         {"email": "reenvio@contabil.example"}),
    ]


@pytest.mark.parametrize("status", [LinkStatus.ACCEPTED, LinkStatus.DECLINED, LinkStatus.REMOVED])
def test_only_a_pending_invitation_can_be_resent(db, accountant, client_row, manager, status):
    [link] = accountants.links_of(client_row)
    link.status = status
    mark = last_event_id(db)
    with pytest.raises(ValidationError) as exc:
        accountants.resend_invitation(link, actor=manager)
    assert exc.value.fields == {"link": "Só é possível reenviar um convite pendente."}
    assert outbox_to(db, accountant.email) == [] and events_since(db, mark) == []


# -- the token -----------------------------------------------------------------------------------------------------


def test_link_invalid_says_whether_it_expired():
    assert accountants.LinkInvalid().expired is False and str(accountants.LinkInvalid()) == "invalid"
    assert accountants.LinkInvalid(expired=True).expired is True
    assert str(accountants.LinkInvalid(expired=True)) == "expired"


@pytest.mark.parametrize("token", ["", None, "nao-existe"])
def test_an_unknown_token_is_invalid_not_expired(db, token):
    with pytest.raises(accountants.LinkInvalid) as exc:
        accountants.load_invitation(token)
    assert exc.value.expired is False and str(exc.value) == "invalid"


def test_tokens_longer_than_200_characters_are_not_looked_up(db, company):
    link = accountants.invite_accountant(company, "longo@contabil.example")
    link.token_hash = hashlib.sha256(("a" * 200).encode()).hexdigest()
    assert accountants.load_invitation("a" * 200) is link
    link.token_hash = hashlib.sha256(("a" * 201).encode()).hexdigest()
    with pytest.raises(accountants.LinkInvalid) as exc:
        accountants.load_invitation("a" * 201)
    assert exc.value.expired is False


def test_a_link_expires_at_its_expiry_instant(db, company, monkeypatch):
    link = accountants.invite_accountant(company, "prazo@contabil.example")
    token = token_in(outbox_to(db, "prazo@contabil.example")[0])
    now = utcnow()
    monkeypatch.setattr(accountants, "utcnow", lambda: now)
    link.expires_at = now + timedelta(microseconds=1)
    assert accountants.load_invitation(token) is link
    link.expires_at = now
    with pytest.raises(accountants.LinkInvalid) as exc:
        accountants.load_invitation(token)
    assert exc.value.expired is True and str(exc.value) == "expired"


# -- acceptance, decline, drop, removal ----------------------------------------------------------------------------


def test_acceptance_links_the_user_once_and_audits_it(db, partner, company):
    link = accountants.invite_accountant(company, "aceita@contabil.example")
    token = token_in(outbox_to(db, "aceita@contabil.example")[0])
    user = accountants.invited_user(accountants.load_invitation(token))
    mark = last_event_id(db)
    before = utcnow()
    accountants.accept_invitation(link, user)
    after = utcnow()
    assert (link.status, link.user_id, link.token_hash, link.expires_at) == (LinkStatus.ACCEPTED, user.id, None, None)
    assert before <= link.accepted_at <= after
    events = events_since(db, mark)
    assert events == [
        ("accountant.accepted", "accountantlink", link.id, user.id, user.email, partner.id, company.id, None,
         {"email": "aceita@contabil.example"}),
    ]
    with pytest.raises(accountants.LinkInvalid):
        accountants.load_invitation(token)


def test_acceptance_by_another_login_is_refused(db, company):
    link = accountants.invite_accountant(company, "certo@contabil.example")
    other = UserFactory(role=Role.ACCOUNTANT, email="errado@contabil.example")
    with pytest.raises(accountants.LinkInvalid):
        accountants.accept_invitation(link, other)
    assert (link.status, link.user_id) == (LinkStatus.PENDING, None)


def test_declining_ends_the_link_and_audits_who(db, partner, company):
    link = accountants.invite_accountant(company, "recusa@contabil.example")
    token = token_in(outbox_to(db, "recusa@contabil.example")[0])
    user = accountants.invited_user(link)
    mark = last_event_id(db)
    before = utcnow()
    accountants.decline_invitation(link, user)
    assert (link.status, link.token_hash, link.expires_at) == (LinkStatus.DECLINED, None, None)
    assert before <= link.ended_at <= utcnow()
    assert events_since(db, mark) == [
        ("accountant.declined", "accountantlink", link.id, user.id, user.email, partner.id, company.id,
         {"link_status": "pending"}, {"link_status": "declined", "email": "recusa@contabil.example"}),
    ]
    with pytest.raises(accountants.LinkInvalid):
        accountants.load_invitation(token)


def test_dropping_a_company_ends_the_link_and_audits_it(db, partner, accountant, client_row):
    [link] = accountants.links_of(client_row)
    mark = last_event_id(db)
    before = utcnow()
    accountants.drop_company(link, accountant)
    assert link.status == LinkStatus.DECLINED and before <= link.ended_at <= utcnow()
    assert events_since(db, mark) == [
        ("accountant.dropped", "accountantlink", link.id, accountant.id, accountant.email, partner.id, client_row.id,
         {"link_status": "accepted"}, {"link_status": "declined", "email": accountant.email}),
    ]
    assert list(db.session.scalars(accountants.accepted_client_ids(accountant.id))) == []


def test_removal_ends_the_link_once_and_audits_the_actor(db, partner, accountant, client_row, manager):
    [link] = accountants.links_of(client_row)
    mark = last_event_id(db)
    before = utcnow()
    accountants.revoke_link(link, actor=manager)
    assert (link.status, link.token_hash, link.expires_at) == (LinkStatus.REMOVED, None, None)
    assert before <= link.ended_at <= utcnow()
    assert events_since(db, mark) == [
        ("accountant.removed", "accountantlink", link.id, manager.id, manager.email, partner.id, client_row.id,
         {"link_status": "accepted"}, {"link_status": "removed", "email": accountant.email}),
    ]
    mark = last_event_id(db)
    ended_at = link.ended_at
    accountants.revoke_link(link, actor=manager)  # already removed: nothing more
    assert link.ended_at == ended_at and events_since(db, mark) == []


def test_removing_a_declined_link_keeps_it_declined(db, accountant, client_row, manager):
    [link] = accountants.links_of(client_row)
    accountants.drop_company(link, accountant)
    mark = last_event_id(db)
    accountants.revoke_link(link, actor=manager)
    assert link.status == LinkStatus.DECLINED and events_since(db, mark) == []


# -- the client's "E-mail do contador" -------------------------------------------------------------------------------


def test_changing_the_accountant_email_removes_the_old_link_and_invites_the_new(db, partner, accountant, client_row,
                                                                                manager, plan):
    """Only this company's link to the previous e-mail ends: not the same accountant's link to another company
    (made earlier), nor another accountant's link to this company (made earlier too)."""
    [elsewhere] = accountants.links_of(client_row)
    company = ClientFactory(partner=partner, plan=plan, accountant_email=None)
    helper = link_accountant(company, UserFactory(role=Role.ACCOUNTANT, email="auxiliar@contabil.example"))
    old = link_accountant(company, accountant)
    company.accountant_email = accountant.email
    mark = last_event_id(db)
    company.accountant_email = "Novo@Contabil.example"
    accountants.accountant_email_named(company, accountant.email, actor=manager)
    new = db.session.scalar(select(AccountantLink).where(AccountantLink.client_id == company.id,
                                                         AccountantLink.email == "novo@contabil.example"))
    assert (old.status, helper.status, elsewhere.status, new.status) == (
        LinkStatus.REMOVED, LinkStatus.ACCEPTED, LinkStatus.ACCEPTED, LinkStatus.PENDING)
    assert new.invited_by_id == manager.id
    assert events_since(db, mark) == [
        ("accountant.removed", "accountantlink", old.id, manager.id, manager.email, partner.id, company.id,
         {"link_status": "accepted"}, {"link_status": "removed", "email": accountant.email}),
        ("accountant.invited", "accountantlink", new.id, manager.id, manager.email, partner.id, company.id, None,
         {"email": "novo@contabil.example"}),
    ]


def test_the_same_accountant_email_in_another_case_changes_nothing(db, accountant, client_row, manager):
    [link] = accountants.links_of(client_row)
    mark = last_event_id(db)
    client_row.accountant_email = "  CONTADOR@Contabil.Example "
    accountants.accountant_email_named(client_row, accountant.email, actor=manager)
    accountants.accountant_email_named(client_row, " Contador@contabil.example", actor=manager)
    assert link.status == LinkStatus.ACCEPTED and events_since(db, mark) == []
    assert outbox_to(db, accountant.email) == []


def test_clearing_the_accountant_email_only_removes(db, accountant, client_row, manager):
    [link] = accountants.links_of(client_row)
    client_row.accountant_email = None
    accountants.accountant_email_named(client_row, accountant.email, actor=manager)
    assert link.status == LinkStatus.REMOVED and [lnk.id for lnk in accountants.links_of(client_row)] == [link.id]


def test_a_first_accountant_email_that_is_not_an_email_is_refused(db, company):
    for typed in ("xxxx", "XXXX"):
        company.accountant_email = typed
        with pytest.raises(ValidationError) as exc:
            accountants.accountant_email_named(company, None)
        assert exc.value.fields == {"accountant_email": "E-mail inválido."}
    company.accountant_email = None
    accountants.accountant_email_named(company, None)  # nothing named before or now: nothing to do
    assert accountants.links_of(company) == []


# -- the lists -------------------------------------------------------------------------------------------------------


def test_accepted_links_are_the_users_own_by_group_then_company_name_then_id(db, partner, plan):
    user = UserFactory(role=Role.ACCOUNTANT, email="lista@contabil.example")
    other = UserFactory(role=Role.ACCOUNTANT, email="outro@contabil.example")
    gama = ClientFactory(partner=partner, plan=plan, legal_name="Gama Ltda")
    delta_1 = ClientFactory(partner=partner, plan=plan, legal_name="Delta Ltda")
    delta_2 = ClientFactory(partner=partner, plan=plan, legal_name="Delta Ltda")
    alfa = ClientFactory(partner=partner, plan=plan, legal_name="Alfa Ltda")
    beta = ClientFactory(partner=partner, plan=plan, legal_name="Beta Ltda")
    pending = ClientFactory(partner=partner, plan=plan, legal_name="Aaa Pendente Ltda")
    for client, group in ((alfa, "Z"), (delta_2, "A"), (gama, "A"), (beta, ""), (delta_1, "A")):
        link = link_accountant(client, user)
        accountants.set_group(link, group)
    link_accountant(pending, user, status=LinkStatus.PENDING)
    link_accountant(ClientFactory(partner=partner, plan=plan, legal_name="Aaa Alheia Ltda"), other)
    links = accountants.accepted_links(user.id)
    assert [(lnk.group_name, lnk.client_id) for lnk in links] == [
        ("", beta.id), ("A", delta_1.id), ("A", delta_2.id), ("A", gama.id), ("Z", alfa.id)]
    assert set(db.session.scalars(accountants.accepted_client_ids(user.id))) == {
        alfa.id, beta.id, gama.id, delta_1.id, delta_2.id}


def test_links_of_a_company_are_newest_first(db, company):
    now = utcnow()
    first = accountants.invite_accountant(company, "um@contabil.example")
    second = accountants.invite_accountant(company, "dois@contabil.example")
    third = accountants.invite_accountant(company, "tres@contabil.example")
    first.created_at = third.created_at = now - timedelta(hours=1)
    second.created_at = now - timedelta(hours=2)
    db.session.flush()
    assert [lnk.id for lnk in accountants.links_of(company)] == [third.id, first.id, second.id]
    assert accountants.get_link_of(company, second.id) is second
    assert accountants.get_link_of(company, None) is None


# -- the accountant's preferences: group and export day --------------------------------------------------------------


def test_the_group_is_trimmed_and_cut_to_100_characters(db, accountant, client_row):
    [link] = accountants.links_of(client_row)
    accountants.set_group(link, "  Clientes do Centro  ")
    assert link.group_name == "Clientes do Centro"
    accountants.set_group(link, None)
    assert link.group_name == ""
    accountants.set_group(link, "g" * 150)
    assert link.group_name == "g" * 100


@pytest.mark.parametrize("typed, stored", [("1", 1), (" 7 ", 7), (28, 28), ("28", 28), ("", None), (None, None)])
def test_the_export_day_is_kept_and_audited(db, partner, accountant, client_row, typed, stored):
    [link] = accountants.links_of(client_row)
    link.export_day = 12
    mark = last_event_id(db)
    accountants.set_export_day(link, typed)
    assert link.export_day == stored
    assert events_since(db, mark) == [
        ("accountant.export_day_changed", "accountantlink", link.id, accountant.id, accountant.email, partner.id,
         client_row.id, None, {"export_day": stored}),
    ]


@pytest.mark.parametrize("typed", ["0", "29", 0, 29, "-3", "abc", "1.5", "dia 5"])
def test_an_export_day_outside_1_to_28_is_refused_and_nothing_changes(db, accountant, client_row, typed):
    [link] = accountants.links_of(client_row)
    link.export_day = 12
    mark = last_event_id(db)
    with pytest.raises(ValidationError) as exc:
        accountants.set_export_day(link, typed)
    assert exc.value.fields == {"export_day": "Escolha um dia entre 1 e 28."}
    assert link.export_day == 12 and events_since(db, mark) == []


def test_the_portal_refuses_a_bad_export_day_with_a_message(login_as, db, accountant, client_row):
    http = login_as(accountant)
    response = http.post(f"/contador/empresas/{client_row.id}", data={"export_day": "31", "group_name": "X"})
    assert response.status_code == 422
    assert "Escolha um dia entre 1 e 28." in response.get_data(as_text=True)
    [link] = accountants.links_of(client_row)
    assert (link.export_day, link.group_name) == (None, "")
    response = http.post(f"/contador/empresas/{client_row.id}", data={"export_day": "10", "group_name": " Norte "})
    assert response.status_code == 303
    assert (link.export_day, link.group_name) == (10, "Norte")
