import pytest

from tests.orders.helpers import make_service


@pytest.fixture
def service(db):
    return make_service()
