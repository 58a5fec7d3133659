"""The partner API's ``q`` is the dashboard's search: accents and case do not matter."""

from tests.factories import ClientFactory


def test_the_partner_api_searches_like_the_dashboard(db, api, partner, plan):
    wanted = ClientFactory(partner=partner, plan=plan, legal_name="Pão Árvore Açúcar Ltda", trade_name="")
    ClientFactory(partner=partner, plan=plan, legal_name="Mercado Ltda", trade_name="")
    db.session.commit()
    for typed in ("pao arvore", "PÃO ÁRVORE AÇÚCAR", "acucar"):
        body = api.get("/api/v1/clients", query_string={"q": typed}).get_json()
        assert [c["id"] for c in body["items"]] == [wanted.id], typed
