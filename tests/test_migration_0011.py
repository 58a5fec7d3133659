"""Migration 0011_memberships moves each user's role, partner and client company into one membership:
every existing account (of every role) still logs in and lands where it did; the downgrade puts the
columns back."""

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from core.db import db as _db
from tests.factories import PASSWORD, _hash
from tests.test_migration_0006 import _insert_client
from tests.test_migrations import fresh_app  # noqa: F401 - the fixture: an app on a brand-new database

#: email → (role, partner_id, client_id, where the login lands)
USERS = {
    "admin@revenda.local": ("admin", None, None, "/admin/"),
    "financeiro@revenda.local": ("finance", None, None, "/admin/"),
    "gestor@alfa.example": ("manager", 1, None, "/painel"),
    "contador@contabil.example": ("accountant", None, None, "/contador/notas"),  # the portal (0013)
    "dono@pao.example": ("client", None, 1, "/cliente"),
}


def _insert_users(connection) -> None:
    for email, (role, partner_id, client_id, _home) in USERS.items():
        connection.execute(sa.text(
            "INSERT INTO users (email, name, password_hash, role, partner_id, client_id, is_active, created_at)"
            " VALUES (:email, 'Pessoa', :hash, :role, :partner_id, :client_id, true, CURRENT_TIMESTAMP)"),
            {"email": email, "hash": _hash(PASSWORD), "role": role, "partner_id": partner_id, "client_id": client_id})
    # rows pointing at users: SQLite rebuilds the table, and must not run their ON DELETE actions
    connection.execute(sa.text(
        "INSERT INTO audit_events (at, actor_id, actor_label, action, object_type) VALUES (CURRENT_TIMESTAMP, 3,"
        " 'gestor@alfa.example', 'user.login', 'user')"))
    connection.execute(sa.text(
        "INSERT INTO user_sessions (user_id, secret_hash, expires_at, created_at) VALUES (3, :hash,"
        " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"hash": "f" * 64})


def test_every_account_keeps_working_after_the_move_to_memberships(fresh_app):  # noqa: F811
    with fresh_app.app_context():
        upgrade(revision="0004")
        with _db.engine.begin() as connection:
            _insert_client(connection)
        upgrade(revision="0010_mail_attachment")
        with _db.engine.begin() as connection:
            _insert_users(connection)
        upgrade(revision="0011_memberships")

        with _db.engine.connect() as connection:
            rows = connection.execute(sa.text(
                "SELECT u.email, m.role, m.partner_id, m.client_id FROM memberships m JOIN users u ON u.id = m.user_id"
            )).all()
            assert connection.execute(sa.text("SELECT actor_id FROM audit_events")).scalar_one() == 3
            assert connection.execute(sa.text("SELECT user_id FROM user_sessions")).scalar_one() == 3
        assert {r.email: (r.role, r.partner_id, r.client_id) for r in rows} == {
            email: spec[:3] for email, spec in USERS.items()}
        user_columns = {c["name"] for c in sa.inspect(_db.engine).get_columns("users")}
        assert not {"role", "partner_id", "client_id"} & user_columns
        upgrade()  # the rest of the chain (2FA...), which the app's models expect

    fresh_app.config["WTF_CSRF_ENABLED"] = False
    for email, (*_spec, home) in USERS.items():
        client = fresh_app.test_client()
        response = client.post("/login", data={"email": email, "password": PASSWORD})
        assert response.status_code == 302 and response.headers["Location"] == home, email
        landing = client.get(home)
        if home == "/admin/":  # staff must use 2FA since 0012: their first login goes to the enrolment
            assert landing.status_code == 302 and "/verificacao-em-duas-etapas" in landing.headers["Location"], email
        else:
            assert landing.status_code == 200, email

    with fresh_app.app_context():
        _db.session.remove()
        downgrade(revision="0010_mail_attachment")
        with _db.engine.connect() as connection:
            back = connection.execute(sa.text("SELECT email, role, partner_id, client_id FROM users")).all()
        assert {r.email: (r.role, r.partner_id, r.client_id) for r in back} == {
            email: spec[:3] for email, spec in USERS.items()}
        with _db.engine.connect() as connection:
            assert connection.execute(sa.text("SELECT actor_id FROM audit_events WHERE id = 1")).scalar_one() == 3
        upgrade()
