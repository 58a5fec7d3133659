"""Migration 0006_search fills the folded search and sort columns of the clients that already exist,
and its downgrade takes them away again."""

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from core.db import db as _db
from tests.test_migrations import fresh_app  # noqa: F401 - the fixture: an app on a brand-new database


def _insert_client(connection) -> None:
    connection.execute(sa.text(
        "INSERT INTO partners (legal_name, trade_name, cnpj, email, phone, cep, street, number, complement, district,"
        " city, state, is_active, created_at) VALUES ('Revenda Ltda', '', '11222333000181', 'r@x.example', '', '', '',"
        " '', '', '', '', '', true, CURRENT_TIMESTAMP)"))
    connection.execute(sa.text(
        "INSERT INTO software (name, url, is_active, created_at) VALUES ('FazNota', 'https://x.example', true,"
        " CURRENT_TIMESTAMP)"))
    connection.execute(sa.text(
        "INSERT INTO plans (software_id, name, price_cents, is_active, created_at) VALUES (1, 'Ouro', 100, true,"
        " CURRENT_TIMESTAMP)"))
    connection.execute(sa.text(
        "INSERT INTO clients (partner_id, legal_name, trade_name, cnpj, email, phone, cep, street, number, complement,"
        " district, city, state, software_id, plan_id, payer, status, trial_auto_activate, created_at, updated_at)"
        " VALUES (1, 'Padaria Pão  Árvore Ltda', 'Açúcar', '34028316000103', 'Dono@Pao.example', '', '', '', '', '',"
        " '', '', 'SP', 1, 1, 'client', 'active', false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))


def test_existing_clients_are_backfilled_and_the_downgrade_removes_the_columns(fresh_app):  # noqa: F811
    with fresh_app.app_context():
        upgrade(revision="0004")
        with _db.engine.begin() as connection:
            _insert_client(connection)
        upgrade(revision="0006_search")
        with _db.engine.connect() as connection:
            search_text, sort_name = connection.execute(sa.text("SELECT search_text, sort_name FROM clients")).one()
        assert sort_name == "padaria pao arvore ltda"
        assert search_text == "padaria pao arvore ltda\nacucar\n34028316000103\ndono@pao.example"
        indexes = {ix["name"] for ix in sa.inspect(_db.engine).get_indexes("clients")}
        assert {"ix_clients_partner_sort_name", "ix_clients_search_text"} <= indexes
        assert "ix_clients_partner_legal_name" not in indexes

        downgrade(revision="0004")
        columns = {c["name"] for c in sa.inspect(_db.engine).get_columns("clients")}
        assert not {"search_text", "sort_name"} & columns
        assert "ix_clients_partner_legal_name" in {ix["name"] for ix in sa.inspect(_db.engine).get_indexes("clients")}
        upgrade()
