"""What billing announces inside itself: the run and the services issue invoices; the notices (dunning)
react, so the issuing modules never import the one that imports them."""

from blinker import Namespace

_signals = Namespace()

#: Invoices just issued (open); sender: None, ``invoice_ids=`` their ids. Dunning queues the e-mail.
invoices_issued = _signals.signal("invoices-issued")

#: An invoice was paid (its transition to PAID). Sender: the ``Invoice``. Outgoing webhooks announce it.
invoice_paid = _signals.signal("invoice-paid")
