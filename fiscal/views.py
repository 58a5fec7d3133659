"""Fiscal pages: the e-mailed export and XML links (public, signed, expiring) and the partner panel's
screens on Gerenciar (XMLs emitidos, XMLs de fornecedores, Relatórios e documentos, one note, exports and
uploads), managers only; the dashboard's contingency badge."""

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from itsdangerous import BadSignature, SignatureExpired

from core.db import db, utcnow
from core.permissions import CLIENTS_MANAGE, require
from core.security import large_upload, parse_id
from fiscal import exports, panel, services
from fiscal.models import Direction, ExportStatus, FiscalExport, FiscalImport
from fiscal.pdf import PDF_LABELS
from partner.access import get_client_for
from partner.tabs import ClientAction, Flag, register_client_action, register_flag_provider

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


# -- the partner panel: Gerenciar's fiscal buttons (managers only) ------------------------------------------


register_client_action(ClientAction("xmls-emitidos", _l("XMLs emitidos"), "fiscal.issued", CLIENTS_MANAGE,
                                    "bi-file-earmark-code", order=10))
register_client_action(ClientAction("xmls-fornecedores", _l("XMLs de fornecedores"), "fiscal.received",
                                    CLIENTS_MANAGE, "bi-truck", order=20))
register_client_action(ClientAction("relatorios", _l("Relatórios e documentos"), "fiscal.reports", CLIENTS_MANAGE,
                                    "bi-file-earmark-bar-graph", order=30))
register_client_action(ClientAction("enviar-xmls", _l("Enviar XMLs"), "fiscal.upload", CLIENTS_MANAGE,
                                    "bi-upload", order=40))


def _contingency_flags(client_ids):
    return {cid: [Flag(_("%(n)s em contingência", n=n), "warning")]
            for cid, n in panel.contingency_counts(client_ids).items()}


register_flag_provider(_contingency_flags)


def _filters(*, allow_all_models=False):
    """(month, model, environment, errors) from the query string; a bad value falls back and says why (422)."""
    errors = {}
    try:
        environment = panel.parse_environment(request.args.get("ambiente"))
    except panel.PanelError as exc:
        errors[exc.field], environment = exc.message, 1
    try:
        month = panel.parse_month(request.args.get("mes"))
    except panel.PanelError as exc:
        errors[exc.field], month = exc.message, panel.current_month()
    try:
        model = panel.parse_model(request.args.get("modelo"), allow_all=allow_all_models)
    except panel.PanelError as exc:
        errors[exc.field], model = exc.message, None if allow_all_models else 55
    return month, model, environment, errors


def _environment_arg(source=None) -> int:
    """The environment a note's screen or action names (``ambiente``); an unknown one is production's 404."""
    try:
        return panel.parse_environment((source or request.args).get("ambiente"))
    except panel.PanelError:
        abort(404)


def _cursor() -> str | None:
    """Where the list resumes (``depois``: the keyset of the last note of the page before)."""
    return request.args.get("depois", "")[:40] or None


def _common(client, month, model, errors, environment=1):
    current = panel.current_month()
    return dict(client=client, month=month, month_iso=panel.month_label_iso(month), model=model, errors=errors,
                environment=environment, env=panel.environment_param(environment), environments=panel.ENVIRONMENTS,
                models=panel.MODELS, this_month=panel.month_label_iso(current),
                last_month=panel.month_label_iso(panel.previous_month(current)),
                status_labels=panel.STATUS_LABELS, status_colors=panel.STATUS_COLORS)


@bp.get("/clientes/<client_id>/xmls-emitidos")
@require(CLIENTS_MANAGE)
def issued(client_id):
    client = get_client_for(current_user, client_id)
    month, model, environment, errors = _filters()
    totals = services.period_totals(client.id, month, model=model, direction=Direction.ISSUED,
                                    environment=environment)
    page = panel.page_of(panel.documents_query(client.id, month, direction=Direction.ISSUED, model=model,
                                               environment=environment), _cursor())
    return render_template("fiscal/issued.html", totals=totals, page=page,
                           **_common(client, month, model, errors, environment)), (422 if errors else 200)


@bp.get("/clientes/<client_id>/xmls-fornecedores")
@require(CLIENTS_MANAGE)
def received(client_id):
    client = get_client_for(current_user, client_id)
    month, model, environment, errors = _filters(allow_all_models=True)
    tab = "reconhecidas" if request.args.get("aba") == "reconhecidas" else "pendentes"
    query = panel.documents_query(client.id, month, direction=Direction.RECEIVED, model=model,
                                  acknowledged=tab == "reconhecidas", environment=environment)
    return render_template("fiscal/received.html", tab=tab, page=panel.page_of(query, _cursor()),
                           **_common(client, month, model, errors, environment)), (422 if errors else 200)


@bp.post("/clientes/<client_id>/xmls-fornecedores/reconhecer")
@require(CLIENTS_MANAGE)
def acknowledge(client_id):
    client = get_client_for(current_user, client_id)
    environment = _environment_arg(request.form)
    back = url_for("fiscal.received", client_id=client.id, mes=request.form.get("mes") or None,
                   ambiente=panel.environment_param(environment))
    try:
        count = panel.acknowledge(client.id, request.form.getlist("chave"), current_user, environment=environment)
    except panel.PanelError as exc:
        flash(exc.message, "danger")
        return redirect(back), 303
    flash(_("%(n)s nota(s) reconhecida(s).", n=count), "success")
    return redirect(back), 303


@bp.get("/clientes/<client_id>/relatorios")
@require(CLIENTS_MANAGE)
def reports(client_id):
    client = get_client_for(current_user, client_id)
    month, model, environment, errors = _filters(allow_all_models=True)
    totals = services.period_totals(client.id, month, model=model, direction=Direction.ISSUED,
                                    environment=environment)
    return render_template("fiscal/reports.html", totals=totals,
                           **_common(client, month, model, errors, environment)), (422 if errors else 200)


@bp.get("/clientes/<client_id>/relatorios/pdf")
@require(CLIENTS_MANAGE)
def report_pdf(client_id):
    client = get_client_for(current_user, client_id)
    month, model, environment, errors = _filters(allow_all_models=True)
    if errors:
        return render_template("error.html", code=422, message=" ".join(errors.values())), 422
    pdf = exports.report_pdf(client, month, panel.report_totals(client.id, month, model, environment=environment),
                             environment=environment)
    name = f"relatorio-{client.cnpj}-{panel.month_label_iso(month)}.pdf"
    return Response(pdf, mimetype="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _document_or_404(client, key, source=None):
    document = panel.get_document(client.id, key, _environment_arg(source))
    if document is None:
        abort(404)
    return document


@bp.get("/clientes/<client_id>/notas/<key>")
@require(CLIENTS_MANAGE)
def document(client_id, key):
    client = get_client_for(current_user, client_id)
    doc = _document_or_404(client, key)
    return render_template("fiscal/document.html", client=client, doc=doc, events=panel.events_of(doc),
                           items=_items(doc),
                           models=panel.MODELS, pdf_label=PDF_LABELS.get(doc.model, "PDF"),
                           status_labels=panel.STATUS_LABELS, status_colors=panel.STATUS_COLORS,
                           event_labels=panel.EVENT_LABELS, signature_labels=panel.SIGNATURE_LABELS,
                           errors={}, email=request.args.get("email", ""))


def _items(doc) -> list:
    """The note's products, read from its stored XML (NF-e and NFC-e; a CT-e has none)."""
    from fiscal.parsing import note_items

    return note_items(services.document_xml(doc)) if doc.has_body and doc.model in (55, 65) else []


@bp.get("/clientes/<client_id>/notas/<key>/xml")
@require(CLIENTS_MANAGE)
def document_xml(client_id, key):
    client = get_client_for(current_user, client_id)
    data, filename, mimetype = panel.xml_download(_document_or_404(client, key))
    return Response(data, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/clientes/<client_id>/notas/<key>/pdf")
@require(CLIENTS_MANAGE)
def document_pdf_view(client_id, key):
    client = get_client_for(current_user, client_id)
    return panel.pdf_response(_document_or_404(client, key))


@bp.post("/clientes/<client_id>/notas/<key>/enviar")
@require(CLIENTS_MANAGE)
def email_document(client_id, key):
    client = get_client_for(current_user, client_id)
    doc = _document_or_404(client, key)
    address = request.form.get("email", "")
    try:
        panel.email_xml_link(client, doc, address, current_user)
    except panel.PanelError as exc:
        return render_template("fiscal/document.html", client=client, doc=doc, events=panel.events_of(doc),
                               items=_items(doc), models=panel.MODELS, pdf_label=PDF_LABELS.get(doc.model, "PDF"),
                               status_labels=panel.STATUS_LABELS, status_colors=panel.STATUS_COLORS,
                               event_labels=panel.EVENT_LABELS, signature_labels=panel.SIGNATURE_LABELS,
                               errors={exc.field: exc.message}, email=address[:254]), 422
    flash(_("Enviamos para %(email)s um link para o XML, válido por %(d)s dias.", email=address.strip(),
            d=panel.XML_LINK_DAYS), "success")
    return redirect(url_for("fiscal.document", client_id=client.id, key=doc.key,
                            ambiente=panel.environment_param(doc.environment))), 303


@bp.get("/xml/<token>")
def public_xml(token):
    """The e-mailed link to one note's XML: works for 7 days, for that note only."""
    try:
        doc = panel.document_from_xml_token(token)
    except SignatureExpired:
        return render_template("fiscal/export_link.html", state="expired",
                               message=_("Este link expirou. Peça um novo envio ao seu revendedor.")), 410
    except BadSignature:
        return render_template("fiscal/export_link.html", state="invalid",
                               message=_("Este link de download não é válido.")), 404
    data, filename, mimetype = panel.xml_download(doc)
    return Response(data, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer"})


# -- exports from the panel -------------------------------------------------------------------------------

PARTICIPANTS = {"issued": _l("Emitente"), "received": _l("Destinatário"), "all": _l("Todas")}


@bp.route("/clientes/<client_id>/exportar", methods=["GET", "POST"])
@require(CLIENTS_MANAGE)
def export_form(client_id):
    client = get_client_for(current_user, client_id)
    errors = {}
    if request.method == "POST":
        form = request.form
        data = {"email": form.get("email", "")[:254], "mes": form.get("mes", "")[:20],
                "modelo": form.get("modelo", ""), "participante": form.get("participante", "all"),
                "pdf": bool(form.get("pdf")), "ambiente": form.get("ambiente", "")[:20]}
        try:
            month = panel.parse_month(data["mes"] or "x")
            model = panel.parse_model(data["modelo"], allow_all=True)
            environment = panel.parse_environment(data["ambiente"])
            from core.validators import ValidationError, clean_email

            try:
                email = clean_email(data["email"])
            except (ValidationError, ValueError):
                raise panel.PanelError(_("Informe um e-mail válido."), "email")
            if data["participante"] not in PARTICIPANTS:
                raise panel.PanelError(_("Escolha Emitente, Destinatário ou Todas."), "participante")
            export = exports.request_export(client, month=month, model=model, participant=data["participante"],
                                            include_pdf=data["pdf"], email=email, requested_by=current_user,
                                            environment=environment)
        except panel.PanelError as exc:
            errors = {exc.field: exc.message}
        except exports.ExportError as exc:
            errors = exc.fields or {"mes": exc.message}
        else:
            exports.enqueue(export)
            return redirect(url_for("fiscal.export_progress", client_id=client.id, export_id=export.id)), 303
    else:
        month, model, environment, _errors = _filters(allow_all_models=True)
        data = {"email": current_user.email, "mes": panel.month_label_iso(month),
                "modelo": str(model or "todos"), "participante": "all", "pdf": False,
                "ambiente": panel.environment_param(environment) or "producao"}
    return render_template("fiscal/export_form.html", client=client, data=data, errors=errors, models=panel.MODELS,
                           participants=PARTICIPANTS, environments=panel.ENVIRONMENTS), (422 if errors else 200)


def _client_row_or_404(model, client, row_id):
    """An export or upload job of ``client`` by its id from the URL (core's ``parse_id``), else 404."""
    number = parse_id(row_id)
    row = db.session.get(model, number) if number is not None else None
    if row is None or row.client_id != client.id:
        abort(404)
    return row


def _export_or_404(client, export_id) -> FiscalExport:
    return _client_row_or_404(FiscalExport, client, export_id)


def _export_state(export: FiscalExport) -> dict:
    state = export.current_status(utcnow())
    return {"id": export.id, "status": state.value, "progress": 100 if state == ExportStatus.READY else export.progress,
            "done": state in (ExportStatus.READY, ExportStatus.FAILED, ExportStatus.EXPIRED),
            "download_url": exports.download_url(export) if state == ExportStatus.READY else None}


@bp.get("/clientes/<client_id>/exportacoes/<export_id>")
@require(CLIENTS_MANAGE)
def export_progress(client_id, export_id):
    client = get_client_for(current_user, client_id)
    export = _export_or_404(client, export_id)
    return render_template("fiscal/export_progress.html", client=client, export=export, state=_export_state(export),
                           status_url=url_for("fiscal.export_status", client_id=client.id, export_id=export.id))


@bp.get("/clientes/<client_id>/exportacoes/<export_id>/status")
@require(CLIENTS_MANAGE)
def export_status(client_id, export_id):
    client = get_client_for(current_user, client_id)
    return jsonify(_export_state(_export_or_404(client, export_id)))


# -- uploads in the panel ---------------------------------------------------------------------------------


@bp.route("/clientes/<client_id>/enviar-xmls", methods=["GET", "POST"])
@large_upload("FISCAL_MAX_UPLOAD")
@require(CLIENTS_MANAGE)
def upload(client_id):
    client = get_client_for(current_user, client_id)
    errors = {}
    if request.method == "POST":
        limit = current_app.config["FISCAL_MAX_UPLOAD"]
        files = [f for f in request.files.getlist("arquivo") if f and f.filename]
        try:
            if not files:
                raise panel.PanelError(_("Escolha um arquivo XML ou zip para enviar."), "arquivo")
            if len(files) == 1:
                name, data = files[0].filename, files[0].read(limit + 1)
            else:
                name, data = panel.bundle_files([(f.filename, f.read(limit + 1)) for f in files])
            job = panel.start_import(client, name, data, current_user, limit=limit)
        except panel.PanelError as exc:
            errors = {exc.field: exc.message}
        else:
            panel.enqueue_import(job)
        finally:
            for field_name in request.files:
                for part in request.files.getlist(field_name):
                    part.close()  # spooled to disk when large: closed now, not by the collector
        if not errors:
            return redirect(url_for("fiscal.import_progress", client_id=client.id, import_id=job.id)), 303
    return render_template("fiscal/upload.html", client=client, errors=errors), (422 if errors else 200)


def _import_or_404(client, import_id) -> FiscalImport:
    return _client_row_or_404(FiscalImport, client, import_id)


def _import_state(job: FiscalImport) -> dict:
    return {"id": job.id, "status": job.status.value, "progress": job.progress, "processed": job.processed,
            "total": job.total, "done": job.status.value in ("done", "failed")}


@bp.get("/clientes/<client_id>/importacoes/<import_id>")
@require(CLIENTS_MANAGE)
def import_progress(client_id, import_id):
    client = get_client_for(current_user, client_id)
    job = _import_or_404(client, import_id)
    results = job.results or []
    counts = {k: sum(1 for r in results if r.get("result") == k) for k in panel.RESULT_LABELS}
    return render_template("fiscal/import_progress.html", client=client, job=job, state=_import_state(job),
                           results=results, counts=counts, result_labels=panel.RESULT_LABELS,
                           status_labels=panel.STATUS_LABELS,
                           status_url=url_for("fiscal.import_status", client_id=client.id, import_id=job.id))


@bp.get("/clientes/<client_id>/importacoes/<import_id>/status")
@require(CLIENTS_MANAGE)
def import_status(client_id, import_id):
    client = get_client_for(current_user, client_id)
    return jsonify(_import_state(_import_or_404(client, import_id)))


# -- the contingency monitor across the partner (seed 002) ------------------------------------------------


@bp.get("/contingencia")
@require(CLIENTS_MANAGE)
def contingency():
    """Notes issued offline and not yet authorized, for every client of the manager's partner: age, deadline."""
    from fiscal.monitor import pending_notes
    from partner.models import Client

    notes = pending_notes(partner_id=current_user.partner_id)
    ids = {n.document.client_id for n in notes}
    clients = {c.id: c for c in db.session.execute(db.select(Client).where(Client.id.in_(ids))).scalars()} if ids else {}
    return render_template("fiscal/contingency.html", notes=notes, clients=clients, now=utcnow())
