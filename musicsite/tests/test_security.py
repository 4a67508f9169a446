"""HTTPS redirect in production, with the health check left reachable over plain HTTP."""


def test_plain_http_is_redirected_to_https_but_healthz_answers(client, settings, db):
    settings.SECURE_SSL_REDIRECT = True

    page = client.get("/")
    assert page.status_code == 301
    assert page["Location"].startswith("https://")

    health = client.get("/healthz")
    assert health.status_code == 200


def test_https_requests_from_herokus_router_are_not_redirected(client, settings, db):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/healthz", headers={"x-forwarded-proto": "https"})
    assert response.status_code == 200
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
