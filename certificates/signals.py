"""What the certificates domain announces. Higher domains react in their ``receivers.py`` (connected
when the app factory imports them), so certificates never imports upward."""

from blinker import Namespace

_signals = Namespace()

#: An expiry alert was sent for a client's active certificate (once per threshold). Sender: the
#: ``Certificate``; keywords ``client`` (the ``Client``), ``days_left`` (negative once expired) and
#: ``threshold`` (the alert's days). Outgoing webhooks announce it.
certificate_expiring = _signals.signal("certificate-expiring")
