"""The accountants' portal (/contador): acceptance of an invitation, the notes, totals and exports."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from accounts.tokens import FIRST_ACCESS, make_user_token
from core.permissions import Role
from partner import accountants
from partner.accountants import LinkInvalid

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
        if user is None or user.role != Role.ACCOUNTANT:
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
        flash(_("Empresa %(name)s adicionada à sua lista.", name=link.client.legal_name), "success")
        return redirect(url_for("accounts.index"))
    return render_template("portal/accept.html", link=link, user=user)
