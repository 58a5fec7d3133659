"""The panel's Pedidos: summary with every price before confirming, the order page, attachments
checked by content, the confirmation on destructive buttons."""

from sqlalchemy import select

from orders.models import Order, OrderAttachment
from tests.orders.helpers import order_data

PDF = b"%PDF-1.4\n%%EOF\n"


def _form(client_row, service, **extra):
    data = order_data(client_row, service)
    form = {k: str(v) for k, v in data.items() if k != "addons"}
    form.update({f"addon_{code}": str(q) for code, q in data["addons"].items()})
    form.update(extra)
    return form


def test_summary_then_confirm(client, login_as, manager, client_row, service, db):
    http = login_as(manager)
    page = http.post("/pedidos/novo", data=_form(client_row, service, step="summary"))
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-testid="summary"' in html
    assert "R$ 840,00" in html  # 600 + 120 (kit) + 120 (2 users)
    assert db.session.scalar(select(Order.id)) is None  # nothing saved before confirming
    done = http.post("/pedidos/novo", data=_form(client_row, service), query_string={"step": "confirm"})
    order = db.session.scalar(select(Order))
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/pedidos/{order.id}")
    detail = http.get(f"/pedidos/{order.id}").get_data(as_text=True)
    assert "Reenviar e-mail de aceite" in detail and "Cancelar pedido" in detail and "data-confirm" in detail
    # the history in plain words, never the stored codes
    history = detail[detail.index('id="t-history"'):detail.index('id="t-storage"')]
    assert "<td>Aceite solicitado ao cliente</td>" in history and "<td>Próxima fatura</td>" in history
    assert "acceptance_requested" not in history and "<td>invoice</td>" not in history


def test_bad_form_shows_messages_next_to_fields(client, login_as, manager, client_row, service):
    page = login_as(manager).post("/pedidos/novo", data=_form(client_row, service, term_months="7", step="summary"))
    assert page.status_code == 422
    assert 'data-field-error="term_months"' in page.get_data(as_text=True)


def test_attachments_are_checked_by_content(client, login_as, manager, client_row, service, db):
    import io

    from orders import documents, services

    order = services.place_order(client_row.partner, order_data(client_row, service))
    person = documents.add_responsible(order, {"name": "Ana", "email": "ana@exemplo.com.br"})
    db.session.commit()
    http = login_as(manager)
    url = f"/pedidos/{order.id}/responsaveis/{person.id}/documentos"
    fake = http.post(url, data={"file": (io.BytesIO(b"MZ\x90 not a pdf"), "rg.pdf")},
                     content_type="multipart/form-data")
    assert fake.status_code == 422 and "PDF, PNG ou JPEG" in fake.get_data(as_text=True)
    real = http.post(url, data={"file": (io.BytesIO(PDF), "rg.pdf")}, content_type="multipart/form-data")
    assert real.status_code == 302
    [attachment] = db.session.scalars(select(OrderAttachment)).all()
    assert attachment.content_type == "application/pdf"
    download = http.get(f"/pedidos/{order.id}/documentos/{attachment.id}")
    assert download.status_code == 200 and download.data == PDF
