"""The webhooks' words for the audit log (core/audit_words.py)."""

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from core.audit_words import register_actions, register_fields, register_formatter
from webhooks.services import EVENTS

register_actions({
    "webhook.created": _l("Webhook criado"),
    "webhook.deleted": _l("Webhook excluído"),
    "webhook.enabled": _l("Webhook reativado"),
    "webhook.disabled": _l("Webhook desativado após falhas repetidas"),
    "webhook.resent": _l("Entrega de webhook reenviada"),
})

register_fields({
    "url": _l("URL"),
    "events": _l("Eventos"),
    "event": _l("Evento"),
    "consecutive_failures": _l("Falhas seguidas"),
}, scope="webhook")


def _events(codes) -> str:
    codes = codes if isinstance(codes, list | tuple) else [codes]
    return ", ".join(str(EVENTS.get(code, _l("outro evento"))) for code in codes)


register_formatter("events", _events, scope="webhook")
register_formatter("event", _events, scope="webhook")
register_formatter("consecutive_failures", lambda n: ngettext("%(num)d falha", "%(num)d falhas", int(n)),
                   scope="webhook")
