"""What the fiscal domain announces. Higher domains react in their ``receivers.py`` (connected when
the app factory imports them), so fiscal never imports upward."""

from blinker import Namespace

_signals = Namespace()

#: An ingestion batch stored new documents and/or saw documents become cancelled. Sender: the
#: ``Client``; keywords ``received`` and ``cancelled``: lists of ``FiscalDocument`` (flushed, with ids).
documents_changed = _signals.signal("documents-changed")

#: An export's zip is ready (its "Download das Notas" e-mail is queued). Sender: the ``FiscalExport``.
export_ready = _signals.signal("export-ready")
