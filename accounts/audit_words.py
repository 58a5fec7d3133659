"""The accounts domain's words for the audit log (core/audit_words.py): users and their passwords."""

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from core.audit_words import register_actions, register_fields, register_formatter, register_values
from core.permissions import Role

register_actions({
    "user.login": _l("Entrou no sistema"),
    "user.created": _l("Usuário criado"),
    "user.updated": _l("Usuário alterado"),
    "user.deactivated": _l("Usuário desativado"),
    "user.password_changed": _l("Senha alterada"),
    "user.password_reset": _l("Senha redefinida pelo link de e-mail"),
    "user.first_access": _l("Senha definida no primeiro acesso"),
    "user.email_change_requested": _l("Troca do e-mail de acesso pedida (aguarda a confirmação do novo endereço)"),
    "user.email_changed": _l("E-mail de acesso alterado"),
    "user.two_factor_enabled": _l("Verificação em duas etapas ativada"),
    "user.two_factor_disabled": _l("Verificação em duas etapas desativada"),
    "user.two_factor_recovery_used": _l("Entrou com um código de recuperação"),
    "user.two_factor_codes_regenerated": _l("Novos códigos de recuperação gerados"),
    "user.two_factor_reset": _l("Verificação em duas etapas redefinida pela equipe"),
    "partner.two_factor_policy": _l("Regra da verificação em duas etapas dos gestores alterada"),
    "user.membership_switched": _l("Trocou de empresa (contexto de acesso)"),
    "invitation.sent": _l("Convite de acesso enviado"),
    "invitation.resent": _l("Convite de acesso reenviado"),
    "invitation.revoked": _l("Convite de acesso cancelado"),
    "invitation.accepted": _l("Convite de acesso aceito"),
    "membership.removed": _l("Acesso à empresa removido"),
    "user.reset_link_sent": _l("Link de redefinição de senha enviado pela equipe"),
})
register_fields({
    "email": _l("E-mail"),
    "name": _l("Nome"),
    "role": _l("Papel"),
    "is_active": _l("Ativo"),
    "remaining": _l("Códigos de recuperação restantes"),
    "second_factor": _l("Segunda etapa"),
    "require_two_factor": _l("Verificação em duas etapas obrigatória para os gestores"),
    "firm": _l("Empresa"),
    "kind": _l("Tipo"),
})
register_formatter("remaining", lambda n: ngettext("%(num)d código", "%(num)d códigos", int(n)),
                   scope="user")
register_values("second_factor", {"totp": _l("Código do aplicativo"), "recovery": _l("Código de recuperação")})
register_values("kind", {"manager": _l("Gestor da revenda"), "client_user": _l("Usuário do cliente")})
register_values("role", {
    Role.ADMIN: _l("Administrador"), Role.FINANCE: _l("Financeiro"), Role.MANAGER: _l("Gestor"),
    Role.ACCOUNTANT: _l("Contador"), Role.CLIENT: _l("Cliente"),
})
