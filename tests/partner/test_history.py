"""The client's "Histórico de alterações": Portuguese words, formatted values, long values cut short."""

import re

import pytest

from core import audit
from partner.history import MAX_VALUE_CHARS, value_text


def history_html(http, client_row) -> str:
    html = http.get(f"/clientes/{client_row.id}").get_data(as_text=True)
    return re.search(r'data-testid="history">(.*?)</table>', html, re.S).group(1)


@pytest.mark.parametrize(("key", "value", "text"), [
    ("accountant_email", None, "—"),
    ("complement", "", "—"),
    ("monthly_price_cents", 3995, "R$ 39,95"),
    ("status", "blocked", "Bloqueado"),
    ("payer", "partner", "Revenda (gestor)"),
    ("status_reason", "non_payment", "Falta de pagamento"),
    ("cnpj", "11222333000181", "11.222.333/0001-81"),
    ("grace_seconds", 86400, "24 horas"),
    ("effective_at", "2026-12-01T03:00:00+00:00", "01/12/2026 00:00"),  # Brasília time
    ("plan", "FazNota Ouro", "FazNota Ouro"),
])
def test_values_in_words(app, key, value, text):
    with app.test_request_context():
        assert value_text(key, value) == text


def test_long_values_are_cut_and_kept_whole_in_a_title(db, login_as, manager, client_row):
    fingerprint = "ab" * 32  # a SHA-256 in hex: no place to break a line
    audit.record("certificate.uploaded", client_row, actor=manager, client_id=client_row.id,
                 after={"fingerprint_sha256": fingerprint, "not_after": "2034-06-05T14:56:44+00:00"})
    db.session.flush()
    history = history_html(login_as(manager), client_row)

    title = f'title="Impressão digital (SHA-256): {fingerprint}"'
    assert title in history
    assert fingerprint not in history.replace(title, "")  # the cell shows only the cut value
    assert fingerprint[: MAX_VALUE_CHARS - 1] + "…" in history
    assert "Certificado digital enviado" in history and "certificate.uploaded" in history
    assert "05/06/2034" in history and "None" not in history


def test_the_first_integration_key_shows_in_the_history(db, login_as, manager, client_row):
    """"Gerar chave" creates the key; the client's page then lists it."""
    http = login_as(manager)
    http.post(f"/clientes/{client_row.id}/chave-integracao/criar")
    html = http.get(f"/clientes/{client_row.id}?tab=chave-integracao").get_data(as_text=True)
    history = re.search(r'data-testid="history">(.*?)</table>', html, re.S).group(1)
    assert "integration_key.created" in history and "Chave de integração criada" in history
