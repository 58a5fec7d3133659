"""Fiscal pages: the e-mailed export link (public, signed, expiring)."""

from flask import Blueprint, Response, render_template, stream_with_context
from flask_babel import gettext as _

from core.db import utcnow
from fiscal import exports
from fiscal.models import ExportStatus

bp = Blueprint("fiscal", __name__)


@bp.get("/exportacoes/<token>")
def download_export(token):
    """The zip an export names, while it has not expired; a page that says why otherwise."""
    export = exports.export_from_token(token)
    if export is None:
        return render_template("fiscal/export_link.html", state="invalid",
                               message=_("Este link de download não é válido.")), 404
    state = export.current_status(utcnow())
    if state == ExportStatus.EXPIRED:
        return render_template("fiscal/export_link.html", state="expired", export=export,
                               message=_("Este link expirou. Exporte novamente pelo painel.")), 410
    if state != ExportStatus.READY:
        message = (_("Não foi possível gerar este arquivo. Exporte novamente pelo painel.")
                   if state == ExportStatus.FAILED else
                   _("Estamos gerando o arquivo para download; assim que estiver pronto enviaremos em seu e-mail."))
        return render_template("fiscal/export_link.html", state=state.value, export=export, message=message), 409
    handle = exports.open_export(export)
    if handle is None:
        return render_template("fiscal/export_link.html", state="missing",
                               message=_("O arquivo não está mais disponível. Exporte novamente pelo painel.")), 410
    filename = export.blob_name.rsplit("/", 1)[-1]

    def chunks():
        with handle:
            while chunk := handle.read(256 * 1024):
                yield chunk

    return Response(stream_with_context(chunks()), mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Content-Length": str(export.size_bytes),
        "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
