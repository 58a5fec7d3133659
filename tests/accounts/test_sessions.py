"""Logins end server-side: at logout (that login), at a password change (the others), at a reset and
at deactivation (all of them, the partner's managers included); remember-me lasts 30 days at most."""

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
from sqlalchemy import func, select

from accounts.models import UserSession
from accounts.services import deactivate_user, send_password_reset
from partner.services import create_api_token
from tests.accounts.conftest import link_in
from tests.factories import PASSWORD, UserFactory

NEW_PASSWORD = "uma-senha-nova-e-longa"


@pytest.fixture
def new_browser(app, client):
    """Another new_browser on the same app (own cookies)."""

    def make():
        return app.test_client()

    return make


def login(http, email, password=PASSWORD, **form):
    response = http.post("/login", data={"email": email, "password": password, **form})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return http


def logged_in(http) -> bool:
    return http.get("/senha").status_code == 200


def cookie(http, name):
    found = http.get_cookie(name)
    return found.value if found is not None else None


def sessions_of(db, user) -> int:
    return db.session.scalar(select(func.count()).select_from(UserSession).where(UserSession.user_id == user.id))


def test_a_session_cookie_cannot_be_replayed_after_logout(db, client, new_browser, manager):
    db.session.commit()
    login(client, manager.email)
    stolen = cookie(client, "session")
    assert stolen and sessions_of(db, manager) == 1
    thief = new_browser()
    thief.set_cookie("session", stolen)
    assert logged_in(thief)  # the copy works while the login lives...
    client.post("/logout")
    assert not logged_in(client)
    replay = new_browser()
    replay.set_cookie("session", stolen)
    assert not logged_in(replay)  # ...and not after: the login ended on the server
    assert not logged_in(thief)
    assert sessions_of(db, manager) == 0


def test_remember_cookie_lasts_30_days_and_dies_with_the_logout(db, client, new_browser, manager):
    db.session.commit()
    response = client.post("/login", data={"email": manager.email, "password": PASSWORD, "remember": "1"})
    header = next(v for v in response.headers.getlist("Set-Cookie") if v.startswith("remember_token="))
    assert "HttpOnly" in header
    expires = parsedate_to_datetime(header.split("Expires=")[1].split(";")[0])
    lifetime = expires - datetime.now(UTC)
    assert timedelta(days=29, hours=23) < lifetime <= timedelta(days=30)
    remember = client.get_cookie("remember_token")

    only_remember = new_browser()
    only_remember.set_cookie("remember_token", remember.value)
    assert logged_in(only_remember)  # a new new_browser session restored from the remember cookie
    client.post("/logout")
    replay = new_browser()
    replay.set_cookie("remember_token", remember.value)
    assert not logged_in(replay)
    assert not logged_in(only_remember)


def test_password_change_ends_every_other_session(db, client, new_browser, manager):
    db.session.commit()
    login(client, manager.email)
    elsewhere = login(new_browser(), manager.email, remember="1")
    remembered = cookie(elsewhere, "remember_token")
    assert logged_in(elsewhere)
    response = client.post("/senha", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                           "confirm_password": NEW_PASSWORD})
    assert response.status_code == 302
    assert logged_in(client)  # the new_browser that changed it stays in
    assert not logged_in(elsewhere)
    replay = new_browser()
    replay.set_cookie("remember_token", remembered)
    assert not logged_in(replay)
    assert sessions_of(db, manager) == 1


def test_password_reset_ends_every_session(db, client, new_browser, manager, inbox, deliver_mail):
    db.session.commit()
    first, second = login(new_browser(), manager.email), login(new_browser(), manager.email, remember="1")
    send_password_reset(manager.email)
    db.session.commit()
    deliver_mail()
    link = link_in(inbox.wait_for(1)[0], "/redefinir-senha/")
    response = client.post(link, data={"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert response.status_code == 302
    assert not logged_in(first) and not logged_in(second)
    assert sessions_of(db, manager) == 0
    assert logged_in(login(new_browser(), manager.email, NEW_PASSWORD))


def test_deactivated_user_sessions_end_for_good(db, new_browser, manager, admin_user):
    db.session.commit()
    http = login(new_browser(), manager.email, remember="1")
    assert deactivate_user(manager, actor=admin_user)
    db.session.commit()
    assert not logged_in(http) and sessions_of(db, manager) == 0
    manager.is_active = True  # reactivated: the old login does not come back
    db.session.commit()
    assert not logged_in(http)


def test_staff_admin_unticking_active_ends_the_sessions(db, new_browser, login_as, manager, admin_user):
    db.session.commit()
    http = login(new_browser(), manager.email)
    form = {"email": manager.email, "name": manager.name, "role": "manager", "partner": str(manager.partner_id)}
    response = login_as(admin_user).post(f"/admin/users/edit/?id={manager.id}", data=form)  # is_active unticked
    assert response.status_code == 302
    db.session.expire_all()
    assert manager.is_active is False
    assert not logged_in(http) and sessions_of(db, manager) == 0


def test_bare_user_id_cookies_are_not_a_login(db, client, manager):
    """Cookies signed before server-side logins (or forged with a leaked key) carry only the id."""
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = str(manager.id)
    assert not logged_in(client)


# -- a partner deactivated by staff -----------------------------------------------------------------


def test_deactivated_partner_locks_panel_api_and_signup_links(db, client, new_browser, partner, manager, plan):
    from contracts.services import create_signup_link, link_url

    other_manager = UserFactory(partner=partner)
    _token, api_token = create_api_token(partner, "ERP")
    link = create_signup_link(partner, {"plan_id": plan.id, "payer": "client"}, actor=manager)
    signup_path = "/" + link_url(link).split("/", 3)[3]
    db.session.commit()
    panel = login(new_browser(), manager.email, remember="1")
    assert logged_in(panel)
    assert client.get("/api/v1/clients", headers={"Authorization": f"Bearer {api_token}"}).status_code == 200
    assert client.get(signup_path).status_code == 200

    partner.is_active = False  # what the staff admin's "Revendas" form does
    db.session.commit()

    assert not logged_in(panel)
    assert sessions_of(db, manager) == 0
    refused = new_browser().post("/login", data={"email": other_manager.email, "password": PASSWORD})
    assert refused.status_code == 401
    api = client.get("/api/v1/clients", headers={"Authorization": f"Bearer {api_token}"})
    assert api.status_code == 401 and api.get_json()["error"]["code"] == "unauthorized"
    page = client.get(signup_path)
    assert page.status_code == 410
    text = page.get_data(as_text=True)
    assert "Link indisponível" in text and "a revenda que o criou não está ativa" in text

    partner.is_active = True
    db.session.commit()
    assert not logged_in(panel)  # the ended logins stay ended
    assert logged_in(login(new_browser(), other_manager.email))
    assert client.get(signup_path).status_code == 200
