"""What the contracts domain announces or asks. Higher domains answer in their ``receivers.py``
(connected when the app factory imports them), so contracts never imports upward."""

from blinker import Namespace

_signals = Namespace()

#: A question when a trial ends: has whoever pays for this client a payment method on file?
#: Sender: the ``Client``. Each receiver returns True or False; billing answers.
payment_method_asked = _signals.signal("payment-method-asked")

#: A contract's status changed (``change_status``). Sender: the ``Client``; keywords ``before`` and
#: ``after`` (ContractStatus values) and ``reason`` (or None). Outgoing webhooks announce it.
status_changed = _signals.signal("status-changed")

#: A client accepted a terms version (the contract or another document, e.g. a service's terms).
#: Sender: the ``Client``; ``acceptance=``, ``terms=`` (TermsVersion), ``actor=``. Orders activate on it.
terms_accepted = _signals.signal("terms-accepted")
