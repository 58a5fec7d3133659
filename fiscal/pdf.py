"""DANFE (NF-e), DANFCe (NFC-e) and DACTE (CT-e) through BrazilFiscalReport, rendered on demand and
cached in the blob store. BrazilFiscalReport does not know a note was cancelled: our derived status
passes the "CANCELADA" watermark."""

from __future__ import annotations

import logging
import tempfile
import warnings

from core.blobstore import BlobNotFound, blob_store

log = logging.getLogger(__name__)
PDF_LABELS = {55: "DANFE", 65: "DANFCe", 57: "DACTE", 67: "DACTE OS"}


class PdfUnavailable(Exception):
    """The document cannot be drawn (no body, a model the library lacks, or a file it cannot read)."""


def _render(model: int, xml: str, cancelled: bool) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the library warns on optional fields; never a user's concern
        if model == 55:
            from brazilfiscalreport.danfe import Danfe, DanfeConfig

            document = Danfe(xml=xml, config=DanfeConfig(watermark_cancelled=cancelled))
        elif model == 65:
            from brazilfiscalreport.danfce import Danfce, DanfceConfig

            document = Danfce(xml=xml, config=DanfceConfig(watermark_cancelled=cancelled))
        elif model == 57:
            from brazilfiscalreport.dacte import Dacte, DacteConfig

            document = Dacte(xml=xml, config=DacteConfig(watermark_cancelled=cancelled))
        else:
            raise PdfUnavailable(model)
        return bytes(document.output())


def document_pdf(document, xml: bytes) -> bytes:
    """The PDF of a stored document, from the cache or drawn now (and cached)."""
    if not document.has_body:
        raise PdfUnavailable("no body")
    cancelled = document.status == "cancelled"
    name = f"pdf/{document.blob_sha256}-{'cancelada' if cancelled else 'normal'}.pdf"
    store = blob_store()
    try:
        with store.open_file(name) as cached:
            return cached.read()
    except BlobNotFound:
        pass
    try:
        pdf = _render(document.model, xml.decode("utf-8-sig", errors="replace"), cancelled)
    except PdfUnavailable:
        raise
    except Exception as exc:  # a third-party drawer on real-world files: report, never a 5xx
        log.warning("PDF of %s failed: %s", document.key, type(exc).__name__)
        raise PdfUnavailable(str(exc)) from exc
    with tempfile.NamedTemporaryFile(suffix=".pdf") as tmp:
        tmp.write(pdf)
        tmp.flush()
        store.put_file(name, tmp.name)
    return pdf
