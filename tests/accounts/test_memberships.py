"""One login, several firms: memberships, the active context (chooser, switcher) and its scoping."""

import pyotp
from sqlalchemy import func, select

from accounts.models import Membership, UserSession
from accounts.services import client_users, manager_emails
from core.audit import AuditEvent
from core.db import utcnow
from core.permissions import Role
from tests.accounts.test_accounts import login
from tests.factories import TOTP_SECRET, ClientFactory, UserFactory


def _add(user, **fields) -> Membership:
    membership = Membership(**fields)
    user.memberships.append(membership)
    return membership


def _two_firm_user(db, partner, other_client):
    """Manager of ``partner`` (A) and user of ``other_client`` (a client of B)."""
    user = UserFactory(role=Role.MANAGER, partner=partner, email="duas@firmas.example")
    client_side = _add(user, role=Role.CLIENT, client_id=other_client.id)
    db.session.flush()
    return user, user.memberships[0], client_side


def test_constructor_keywords_make_the_first_membership(db, partner, client_row):
    manager = UserFactory(role=Role.MANAGER, partner=partner)
    client_login = UserFactory(role=Role.CLIENT, client_id=client_row.id)
    db.session.flush()
    assert [(m.role, m.partner_id, m.client_id) for m in manager.memberships] == [(Role.MANAGER, partner.id, None)]
    assert (client_login.role, client_login.partner_id, client_login.client_id) == (Role.CLIENT, None, client_row.id)
    assert manager_emails(partner.id) == [manager.email]
    assert client_users(client_row.id) == [client_login]


def test_one_membership_lands_where_it_did(client, db, manager, committed):
    committed()
    response = login(client, manager.email)
    assert response.headers["Location"] == "/painel"


def test_several_memberships_choose_then_switch_without_a_new_login(client, db, partner, other_client, committed):
    user, as_manager, as_client = _two_firm_user(db, partner, other_client)
    committed()
    response = login(client, user.email)
    assert response.headers["Location"] == "/empresas"
    page = client.get("/empresas").get_data(as_text=True)
    assert "Selecione a empresa" in page and other_client.legal_name in page
    assert f'data-testid="choose-membership-{as_client.id}"' in page

    # the chooser's first choice: the manager side (the oldest, none used yet)
    assert client.get("/painel").status_code == 200
    assert client.get("/cliente").status_code == 403
    response = client.post(f"/empresas/{as_client.id}")
    assert response.status_code == 302 and response.headers["Location"] == "/cliente"
    assert other_client.legal_name in client.get("/cliente").get_data(as_text=True)
    assert client.get("/painel").status_code == 403  # the manager's panel is not this context's
    assert client.get("/meus-dados").status_code == 403
    # the top bar's switcher lists both and posts the choice
    html = client.get("/cliente").get_data(as_text=True)
    assert 'data-testid="membership-switcher"' in html and f'value="{as_manager.id}"' in html
    response = client.post("/empresas/trocar", data={"membership": str(as_manager.id)})
    assert response.headers["Location"] == "/painel"
    assert client.get("/painel").status_code == 200
    switches = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.membership_switched")).all()
    assert len(switches) == 2 and switches[0].after == {"firm": other_client.legal_name}


def test_the_last_one_used_is_remembered_for_the_next_login(client, db, partner, other_client, committed):
    user, _as_manager, as_client = _two_firm_user(db, partner, other_client)
    committed()
    login(client, user.email)
    client.post(f"/empresas/{as_client.id}")
    client.post("/logout")
    login(client, user.email)
    assert client.get("/cliente").status_code == 200  # starts where it left off
    assert as_client.last_used_at is not None


def test_someone_elses_or_a_lost_membership_cannot_be_chosen(client, db, partner, other_client, manager, committed):
    user, as_manager, as_client = _two_firm_user(db, partner, other_client)
    committed()
    login(client, user.email)
    for target in (manager.memberships[0].id, "999999", "abc", "1" * 30):
        assert client.post(f"/empresas/{target}").status_code == 404
    assert client.post("/empresas/trocar", data={"membership": ""}).status_code == 404
    client.post(f"/empresas/{as_client.id}")
    # the client membership is taken away while in use: the login falls back to the one left
    db.session.delete(as_client)
    committed()
    assert client.get("/cliente").status_code == 403
    assert client.get("/painel").status_code == 200
    assert client.post(f"/empresas/{as_client.id}").status_code == 404
    row = db.session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    assert row.membership_id is None


def test_a_deactivated_partner_leaves_the_other_membership_usable(client, db, partner, other_client, committed):
    user, _as_manager, _as_client = _two_firm_user(db, partner, other_client)
    partner.is_active = False
    committed()
    response = login(client, user.email)
    assert response.status_code == 302 and response.headers["Location"] == "/cliente"
    assert client.get("/painel").status_code == 403


def test_staff_admin_only_in_a_staff_context(client, db, partner, committed):
    user = UserFactory(role=Role.ADMIN, email="equipe@revenda.local")
    as_manager = _add(user, role=Role.MANAGER, partner_id=partner.id)
    db.session.flush()
    staff = user.memberships[0]
    committed()
    assert login(client, user.email).headers["Location"] == "/login/verificacao"  # staff use 2FA
    assert client.post("/login/verificacao", data={"code": pyotp.TOTP(TOTP_SECRET).now()}).status_code == 302
    client.post(f"/empresas/{staff.id}")
    assert client.get("/admin/users/").status_code == 200
    client.post(f"/empresas/{as_manager.id}")
    assert client.get("/admin/users/").status_code == 403
    assert client.get("/admin/").status_code == 403
    assert client.get("/painel").status_code == 200


def test_a_company_has_several_users_and_a_person_several_companies(db, partner, other_partner, plan):
    first, second = ClientFactory(partner=partner, plan=plan), ClientFactory(partner=other_partner, plan=plan)
    person = UserFactory(role=Role.CLIENT, client_id=first.id)
    _add(person, role=Role.CLIENT, client_id=second.id)
    colleague = UserFactory(role=Role.CLIENT, client_id=first.id)
    db.session.flush()
    assert client_users(first.id) == [person, colleague]
    assert client_users(second.id) == [person]
    count = db.session.scalar(select(func.count()).select_from(Membership).where(Membership.user_id == person.id))
    assert count == 2


def test_staff_admin_edits_the_role_of_the_active_membership(client, db, login_as, admin_user, manager, partner):
    response = login_as(admin_user).post(f"/admin/users/edit/?id={manager.id}", data={
        "email": manager.email, "name": "Gestor", "role": "finance", "partner": "", "is_active": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    db.session.expire_all()
    assert [(m.role, m.partner_id) for m in manager.memberships] == [(Role.FINANCE, None)]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.updated"))
    assert event.before["role"] == "manager" and event.after["role"] == "finance"


def test_staff_admin_creates_a_manager_with_its_membership(client, db, login_as, admin_user, partner):
    response = login_as(admin_user).post("/admin/users/new/", data={
        "email": "novo.gestor@alfa.example", "name": "Novo", "role": "manager", "partner": str(partner.id),
        "is_active": "y"})
    assert response.status_code == 302
    assert "novo.gestor@alfa.example" in manager_emails(partner.id)
    created = db.session.scalar(select(Membership).join(Membership.user).where(
        Membership.partner_id == partner.id, Membership.role == Role.MANAGER))
    assert created.created_at <= utcnow()


def test_staff_admin_details_list_every_membership(db, login_as, admin_user, partner, other_client):
    user, _as_manager, _as_client = _two_firm_user(db, partner, other_client)
    html = login_as(admin_user).get(f"/admin/users/details/?id={user.id}").get_data(as_text=True)
    assert "Acessos (empresas)" in html and other_client.legal_name in html and "Gestor" in html
