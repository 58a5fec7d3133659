"""The invoice PDF keeps its totals block whole on one page (issue 9: a long invoice printed its
totals on two pages). Checked on the laid-out document: which page each text box sits on."""

from datetime import timedelta

from billing import services
from billing.pdf import invoice_document
from billing.run import Month
from partner.models import Payer
from tests.factories import PartnerFactory

TOTAL_LABELS = ("Subtotal (preço de tabela)", "Desconto de revenda (50%)", "Total a pagar")


def page_texts(document) -> list[str]:
    """The text of each page, from WeasyPrint's layout boxes."""

    def texts(box):
        if hasattr(box, "text"):
            yield box.text
        for child in getattr(box, "children", ()):
            yield from texts(child)

    return [" ".join(texts(page._page_box)) for page in document.pages]


def long_invoice(partner, lines: int):
    today = services.local_today()
    invoice = services.create_draft(Payer.PARTNER, partner, str(Month.of(today)), today + timedelta(days=10))
    for n in range(lines):
        services.add_line(invoice, description=f"Cliente {n:03d} Comércio de Alimentos Ltda — FazNota Ouro",
                          list_price_cents=11990, discount_cents=5995, period_start=today - timedelta(days=30),
                          period_end=today - timedelta(days=1))
    services.finalize_invoice(invoice)
    return invoice


def totals_pages(partner, lines: int) -> tuple[list[int], int]:
    """(pages where any totals label sits, page count) for an invoice of ``lines`` lines."""
    pages = page_texts(invoice_document(long_invoice(partner, lines)))
    holding = [index for index, text in enumerate(pages) if any(label in text for label in TOTAL_LABELS)]
    assert all(label in " ".join(pages) for label in TOTAL_LABELS)
    return holding, len(pages)


def test_totals_block_is_never_cut_by_a_page_break(db):
    """Around the first page's end (16 lines here, the fonts decide exactly), the block used to be
    cut after its first rows; it now moves whole to the next page."""
    spread = {}
    for lines in range(12, 22):
        holding, _count = totals_pages(PartnerFactory(), lines)
        if len(holding) != 1:
            spread[lines] = holding
    assert spread == {}, f"totals spread over pages (lines: pages) {spread}"


def test_totals_of_a_long_invoice_are_printed_once(db):
    """A <tfoot> was repeated at the bottom of every page of a long invoice."""
    holding, count = totals_pages(PartnerFactory(), 60)
    assert count >= 3 and holding == [count - 1]
