from tests.factories import PASSWORD


def test_login_and_dashboard(client, manager, client_row):
    response = client.post("/login", data={"email": manager.email, "password": PASSWORD})
    assert response.status_code == 302
    page = client.get("/painel")
    assert page.status_code == 200
    assert client_row.legal_name in page.get_data(as_text=True)
