"""A client's accountant sees the client's documents and contract state: no price, no discount, no
integration-key or access events in the history."""

import re

from contracts import services as contracts
from contracts.models import AcceptanceChannel
from core import audit
from partner.models import ContractStatus, Payer


def history_of(html: str) -> str:
    return re.search(r'data-testid="history">(.*?)</table>', html, re.S).group(1)


def test_the_accountant_sees_the_contract_not_the_prices_nor_the_keys(db, login_as, accountant, manager,
                                                                      client_row):
    from certificates import services as certificates

    client_row.payer = Payer.PARTNER  # the partner pays: 50% off, between the partner and the platform
    contracts.accept_terms(client_row, channel=AcceptanceChannel.CLIENT_AREA, ip="203.0.113.9", user_agent="x")
    contracts.change_status(client_row, ContractStatus.BLOCKED, "manual", actor=manager)
    certificates.rotate_integration_key(client_row, 0, actor=manager)
    audit.record("client.software_accessed", client_row, actor=manager, client_id=client_row.id,
                 after={"software": "FazNota", "manager": manager.email})
    audit.record("contract.payer_changed", client_row, actor=manager, client_id=client_row.id,
                 before={"payer": "client", "monthly_price_cents": 11990},
                 after={"payer": "partner", "monthly_price_cents": 5995})
    db.session.commit()

    manager_page = login_as(manager).get(f"/clientes/{client_row.id}").get_data(as_text=True)
    assert 'data-testid="price"' in manager_page and "50% de desconto" in manager_page
    assert "Nova chave de integração gerada" in history_of(manager_page)

    page = login_as(accountant).get(f"/clientes/{client_row.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-testid="price"' not in html and "desconto" not in html and "R$" not in html
    history = history_of(html)
    assert "Status do contrato alterado" in history and "Bloqueado" in history and "Contrato aceito" in history
    assert "Responsável pelo pagamento alterado" in history and "Mensalidade" not in history
    for internal in ("chave de integração", "Acesso ao software", "rvk_live_"):
        assert internal.lower() not in history.lower()
