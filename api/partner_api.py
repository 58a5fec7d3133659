"""Partner API v1: plans and clients (other domains add their endpoints in api/<domain>_api.py)."""

from flask import jsonify

from api.common import OPENAPI_PATHS, OPENAPI_SCHEMAS, bp

__all__ = ["bp"]


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 document of the partner and integration APIs."""
    return jsonify(
        {
            "openapi": "3.1.0",
            "info": {
                "title": "Revenda API",
                "version": "1.0.0",
                "description": "API da revenda (token da revenda) e API de integração (chave de integração do cliente).",
            },
            "servers": [{"url": "/"}],
            "paths": OPENAPI_PATHS,
            "components": {
                "schemas": OPENAPI_SCHEMAS,
                "securitySchemes": {
                    "partnerToken": {"type": "http", "scheme": "bearer", "description": "Token de API da revenda (rvp_…)"},
                    "integrationKey": {"type": "http", "scheme": "bearer", "description": "Chave de integração do cliente"},
                    "accountantToken": {"type": "http", "scheme": "bearer", "description": "Token de API do contador (rvc_…)"},
                },
            },
        }
    )


# Domain endpoint modules register their routes on ``bp`` when imported (after ``bp`` exists).
from api import clients_api, contracts_api, certificates_api, billing_api, documents_api, orders_api  # noqa: E402, F401, I001 - in this order
from api import members_api  # noqa: E402, F401, I001
# The integration API's fiscal routes join its blueprint (registered after this one by the factory).
from api import fiscal_integration_api  # noqa: E402, F401, I001
from api import webhooks_api, accountant_api  # noqa: E402, F401, I001
