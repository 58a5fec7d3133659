"""How billing answers what lower domains announce or ask (imported by the app factory)."""

from billing import services
from contracts.signals import payment_method_asked


@payment_method_asked.connect
def _payer_has_payment_method(client, **_) -> bool:
    return services.has_payment_method(client)
