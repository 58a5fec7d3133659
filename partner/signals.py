"""What the partner domain announces. Higher domains react in their ``receivers.py`` (connected when
the app factory imports them), so partner never imports upward."""

from blinker import Namespace

_signals = Namespace()

#: A client was registered (by a manager, the partner API or a signup link). Sender: the ``Client``;
#: keyword ``actor`` (the user, or None). Contracts asks the client to accept the terms.
client_registered = _signals.signal("client-registered")
