"""The accountants' portal (/contador): acceptance of an invitation, the notes, totals and exports."""

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from accounts import services as account_services
from accounts.tokens import FIRST_ACCESS, make_user_token
from core.db import db
from core.permissions import PORTAL_VIEW, Role, require
from core.validators import ValidationError, clean_email
from fiscal import exports, panel
from fiscal import services as fiscal_services
from fiscal.pdf import PDF_LABELS
from fiscal.status import DocumentStatus
from partner import accountants
from partner.access import get_client_for
from partner.accountants import LinkInvalid
from partner.models import AccountantLink, LinkStatus
from portal import services

bp = Blueprint("portal", __name__, url_prefix="/contador")


def _invalid_link(exc: LinkInvalid):
    message = (_("Este convite expirou. Peça à empresa ou à revenda que o reenvie.") if exc.expired else
               _("Este convite é inválido, já foi usado ou foi cancelado."))
    return render_template("error.html", code=400, message=message, title=_("Convite indisponível")), 400


@bp.route("/aceite/<token>", methods=["GET", "POST"])
def accept(token):
    """The e-mail's "Clique aqui": a page to accept or decline (nothing happens on GET, which mail
    scanners fetch). A new accountant accepts and goes on to set a password; one with a password
    accepts logged in as the invited e-mail."""
    try:
        link = accountants.load_invitation(token)
    except LinkInvalid as exc:
        return _invalid_link(exc)
    user = accountants.invited_user(link)
    if request.method == "POST":
        if request.form.get("action") == "decline":
            accountants.decline_invitation(link, user)
            flash(_("Convite recusado. Você não terá acesso às notas desta empresa."), "info")
            return redirect(url_for("accounts.login"))
        if user is None:
            return _invalid_link(LinkInvalid())
        if not user.password_hash:
            accountants.accept_invitation(link, user)
            flash(_("Empresa aceita. Agora defina sua senha de acesso ao Portal do Contador."), "success")
            return redirect(url_for("accounts.first_access", token=make_user_token(user, FIRST_ACCESS)))
        if not current_user.is_authenticated:
            flash(_("Entre com o e-mail %(email)s para aceitar a empresa.", email=link.email), "info")
            return redirect(url_for("accounts.login", next=url_for("portal.accept", token=token)))
        if current_user.id != user.id:
            flash(_("Este convite é para %(email)s. Saia e entre com esse e-mail para aceitá-lo.", email=link.email),
                  "error")
            return render_template("portal/accept.html", link=link, user=user), 409
        accountants.accept_invitation(link, current_user)
        if current_user.role != Role.ACCOUNTANT:  # a person of several firms: on to the accountant's portal
            account_services.switch_membership(current_user,
                                               account_services.membership_as(current_user, Role.ACCOUNTANT))
        flash(_("Empresa %(name)s adicionada à sua lista.", name=link.client.legal_name), "success")
        return redirect(url_for("accounts.index"))
    return render_template("portal/accept.html", link=link, user=user)


# -- the portal: Notas, one note and its four actions, exports, companies ----------------------------------


def _selection():
    return services.selection_for(current_user, request.args.get("empresa") or request.form.get("empresa"))


def _client_or_404(client_id):
    """An accepted company of the accountant's, else 404 (unlinked, pending, declined or removed alike)."""
    return get_client_for(current_user, client_id)


def _document_or_404(client, key):
    environment = 2 if request.args.get("ambiente") == "2" else 1
    if not (isinstance(key, str) and len(key) == 44 and key.isdigit()):
        abort(404)
    document = fiscal_services.find_document(client.id, environment, key)
    if document is None or document.status == DocumentStatus.NOT_A_DOCUMENT:
        abort(404)
    return document


@bp.get("/")
@require(PORTAL_VIEW)
def home():
    return redirect(url_for("portal.notes"))


@bp.get("/notas")
@require(PORTAL_VIEW)
def notes():
    selection = _selection()
    filters = services.parse_filters(request.args)
    context = {"selection": selection, "f": filters, "errors": filters.errors, "models": services.MODELS,
               "status_labels": panel.STATUS_LABELS, "status_colors": panel.STATUS_COLORS,
               "status_order": services.STATUS_ORDER, "items": [], "next_cursor": None, "summary": None,
               "chart": None}
    if selection.client_ids:
        summary = services.summary(selection.client_ids, filters)
        items, next_cursor = services.notes_page(selection.client_ids, filters, request.args.get("apos"))
        context.update(summary=summary, chart=services.chart(summary.days), items=items, next_cursor=next_cursor,
                       companies={link.client_id: link.client for link in selection.chosen})
    status = 422 if filters.errors else 200
    return render_template("portal/notes.html", **context), status


@bp.get("/empresas/<client_id>/notas/<key>")
@require(PORTAL_VIEW)
def document(client_id, key):
    client = _client_or_404(client_id)
    doc = _document_or_404(client, key)
    return _document_page(client, doc, {}, "")


def _document_page(client, doc, errors, email, status=200):
    from fiscal.parsing import note_items

    items = note_items(fiscal_services.document_xml(doc)) if doc.has_body and doc.model in (55, 65) else []
    return render_template("portal/document.html", client=client, doc=doc, events=panel.events_of(doc), items=items,
                           models=services.MODELS, pdf_label=PDF_LABELS.get(doc.model, "PDF"),
                           status_labels=panel.STATUS_LABELS, status_colors=panel.STATUS_COLORS,
                           event_labels=panel.EVENT_LABELS, errors=errors, email=email or current_user.email,
                           environment=doc.environment), status


@bp.get("/empresas/<client_id>/notas/<key>/xml")
@require(PORTAL_VIEW)
def document_xml(client_id, key):
    client = _client_or_404(client_id)
    data, filename, mimetype = panel.xml_download(_document_or_404(client, key))
    return Response(data, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/empresas/<client_id>/notas/<key>/danfe")
@require(PORTAL_VIEW)
def document_pdf_view(client_id, key):
    client = _client_or_404(client_id)
    return panel.pdf_response(_document_or_404(client, key))


@bp.post("/empresas/<client_id>/notas/<key>/enviar")
@require(PORTAL_VIEW)
def email_document(client_id, key):
    """"Enviar E-mail": a signed link to the note's XML (fiscal.panel.email_xml_link), valid for 7 days."""
    client = _client_or_404(client_id)
    doc = _document_or_404(client, key)
    address = request.form.get("email", "")[:254]
    try:
        panel.email_xml_link(client, doc, address, current_user)
    except panel.PanelError as exc:
        return _document_page(client, doc, {exc.field: exc.message}, address, 422)
    flash(_("Enviamos para %(email)s um link para o XML, válido por %(d)s dias.", email=address.strip(),
            d=panel.XML_LINK_DAYS), "success")
    return redirect(url_for("portal.document", client_id=client.id, key=doc.key, ambiente=doc.environment)), 303


EXPORT_MESSAGE = _l("Estamos gerando o arquivo para download, assim que estiver pronto enviaremos em seu email.")


@bp.route("/exportar", methods=["GET", "POST"])
@require(PORTAL_VIEW)
def export():
    """"Relatório / Exportar Notas" for the selected company and the period on screen."""
    selection = _selection()
    source = request.form if request.method == "POST" else request.args
    filters = services.parse_filters(source)
    errors = dict(filters.errors)
    data = {"email": (source.get("email") or current_user.email)[:254], "participante": filters.participant,
            "modelo": str(filters.model or ""), "pdf": bool(source.get("pdf"))}
    if request.method == "POST":
        if selection.company is None:
            errors["empresa"] = _("Selecione uma empresa para exportar.")
        try:
            email = clean_email(data["email"])
        except ValueError as exc:
            errors["email"] = str(exc)
        if not errors:
            try:
                job = exports.request_export(
                    selection.company, month=filters.start.year * 100 + filters.start.month, model=filters.model,
                    participant=filters.participant, include_pdf=data["pdf"], email=email,
                    requested_by=current_user, starts_at=filters.start_at, ends_at=filters.end_at,
                    environment=filters.environment)  # the environment on screen, never mixed
            except exports.ExportError as exc:
                errors.update(exc.fields or {"periodo": exc.message})
            else:
                exports.enqueue(job)
                flash(str(EXPORT_MESSAGE), "success")
                return redirect(url_for("portal.notes", **_notes_args(selection, filters))), 303
    return render_template("portal/export.html", selection=selection, f=filters, data=data, errors=errors,
                           models=services.MODELS), (422 if errors and request.method == "POST" else 200)


def _notes_args(selection, filters) -> dict:
    args = {"empresa": selection.value, "ambiente": filters.environment, "periodo": filters.preset,
            "participante": filters.participant}
    if filters.preset == "customizado":
        args.update(de=filters.start.isoformat(), ate=filters.end.isoformat())
    if filters.model:
        args["modelo"] = filters.model
    return args


@bp.get("/empresas")
@require(PORTAL_VIEW)
def companies():
    return render_template("portal/companies.html", links=accountants.accepted_links(current_user.id), errors={},
                           default_day=current_app.config["FISCAL_EXPORT_DAY"])


def _link_or_404(client_id):
    client = _client_or_404(client_id)
    link = db.session.scalar(select(AccountantLink).where(
        AccountantLink.client_id == client.id, AccountantLink.user_id == current_user.id,
        AccountantLink.status == LinkStatus.ACCEPTED))
    if link is None:
        abort(404)
    return link


@bp.post("/empresas/<client_id>")
@require(PORTAL_VIEW)
def save_company(client_id):
    """The accountant's group for the company and the day of its automatic export."""
    link = _link_or_404(client_id)
    try:
        accountants.set_export_day(link, request.form.get("export_day", "")[:4])
    except ValidationError as exc:
        db.session.rollback()
        return render_template("portal/companies.html", links=accountants.accepted_links(current_user.id),
                               errors={link.client_id: exc.fields}, default_day=current_app.config["FISCAL_EXPORT_DAY"],
                               ), 422
    accountants.set_group(link, request.form.get("group_name", ""))
    flash(_("Preferências de %(name)s salvas.", name=link.client.legal_name), "success")
    return redirect(url_for("portal.companies")), 303


@bp.post("/empresas/<client_id>/deixar")
@require(PORTAL_VIEW)
def drop_company(client_id):
    link = _link_or_404(client_id)
    accountants.drop_company(link, current_user)
    flash(_("Você deixou de acompanhar %(name)s.", name=link.client.legal_name), "info")
    return redirect(url_for("portal.companies")), 303
