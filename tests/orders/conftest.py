import pytest

from tests.orders.helpers import make_service


@pytest.fixture
def service(db):
    return make_service()


# -- localstripe (the fake Stripe server tests/billing starts the same way) ---------------------------


@pytest.fixture(scope="session")
def orders_localstripe_url():
    from tests.billing.localstripe_server import localstripe

    with localstripe() as url:
        yield url


@pytest.fixture
def stripe_app(app, monkeypatch, orders_localstripe_url):
    """The app configured for Stripe, talking HTTP to localstripe (as tests/billing's fixture)."""
    from tests.billing.billing_helpers import API_KEY, WEBHOOK_SECRET

    for key, value in {"STRIPE_SECRET_KEY": API_KEY, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
                       "STRIPE_API_BASE": orders_localstripe_url, "STRIPE_PUBLISHABLE_KEY": "pk_test_revenda"}.items():
        monkeypatch.setitem(app.config, key, value)
    yield app
    for gateway in app.extensions.get("billing_gateway", {}).values():
        gateway.close()
    app.extensions["billing_gateway"] = {}


@pytest.fixture
def raw_stripe(orders_localstripe_url):
    """A plain Stripe client for what a browser would do (Stripe.js creating a card)."""
    import stripe

    from tests.billing.billing_helpers import API_KEY

    http = stripe.RequestsClient(timeout=10)
    yield stripe.StripeClient(API_KEY, base_addresses={"api": orders_localstripe_url}, http_client=http)
    http.close()
