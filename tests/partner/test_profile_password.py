"""Meus dados → Senha: the tab posts to the panel, and a wrong password is shown on the tab itself."""

from accounts.models import User
from tests.factories import PASSWORD

NEW_PASSWORD = "outra-senha-boa-1"


def test_profile_password_tab_posts_to_the_panel(db, login_as, manager):
    html = login_as(manager).get("/meus-dados?tab=senha").get_data(as_text=True)
    assert 'action="/meus-dados/senha"' in html


def test_wrong_password_stays_on_the_tab_and_saves_nothing(db, login_as, manager, committed):
    committed()
    hash_before = manager.password_hash
    response = login_as(manager).post("/meus-dados/senha", data={
        "current_password": "errada", "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'data-field-error="current_password">Senha atual incorreta.<' in html
    assert "Meus dados" in html and 'class="nav-link active" href="/meus-dados?tab=senha"' in html
    db.session.expire_all()
    assert db.session.get(User, manager.id).password_hash == hash_before


def test_password_changed_from_the_tab(db, login_as, manager):
    response = login_as(manager).post("/meus-dados/senha", data={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/meus-dados?tab=senha"
    assert manager.check_password(NEW_PASSWORD)


def test_accountant_cannot_use_the_profile_password_route(db, login_as, accountant):
    response = login_as(accountant).post("/meus-dados/senha", data={"current_password": PASSWORD})
    assert response.status_code == 403
