"""How billing answers what lower domains announce or ask (imported by the app factory)."""

from billing import dunning, services
from billing.signals import invoices_issued
from contracts.signals import payment_method_asked


@payment_method_asked.connect
def _payer_has_payment_method(client, **_) -> bool:
    return services.has_payment_method(client)


@invoices_issued.connect
def _send_issued_notices(_sender, *, invoice_ids, **_) -> None:
    dunning.send_issued_notices(invoice_ids)  # queued in the issuing transaction, leaves with its commit
