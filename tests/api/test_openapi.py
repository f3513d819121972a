"""The API describes itself: every operation is in the OpenAPI document, says what it
means, and declares its errors as problem documents."""

from __future__ import annotations

from fastapi.testclient import TestClient

EXPECTED = {
    ("get", "/api/me"),
    ("get", "/api/users"),
    ("post", "/api/users"),
    ("get", "/api/tokens"),
    ("post", "/api/tokens"),
    ("post", "/api/tokens/{token_id}/revoke"),
    ("get", "/api/customers"),
    ("post", "/api/customers"),
    ("get", "/api/customers/{customer_id}"),
    ("patch", "/api/customers/{customer_id}"),
    ("get", "/api/customers/{customer_id}/history"),
    ("get", "/api/customers/{customer_id}/timeline"),
    ("get", "/api/customers/{customer_id}/contacts"),
    ("post", "/api/customers/{customer_id}/contacts"),
    ("get", "/api/contacts/{contact_id}"),
    ("patch", "/api/contacts/{contact_id}"),
    ("post", "/api/contacts/{contact_id}/remove"),
    ("get", "/api/customers/{customer_id}/sites"),
    ("post", "/api/customers/{customer_id}/sites"),
    ("get", "/api/sites/{site_id}"),
    ("patch", "/api/sites/{site_id}"),
    ("post", "/api/sites/{site_id}/remove"),
    ("get", "/api/journal/checkpoint"),
    ("get", "/api/journal/checkpoint.txt"),
    ("get", "/api/journal/entries"),
    ("get", "/api/journal/entries/{seq}"),
    ("get", "/api/journal/consistency"),
    ("get", "/api/journal/key"),
}


def test_every_operation_is_documented(anonymous: TestClient) -> None:
    spec = anonymous.get("/api/openapi.json").json()
    ops = {
        (method, path): op
        for path, methods in spec["paths"].items()
        if path.startswith("/api/")
        for method, op in methods.items()
    }
    assert not EXPECTED - set(ops), "operations missing from the OpenAPI document"
    for (method, path), op in ops.items():
        assert op.get("description"), f"{method} {path} has no docstring"
        assert "application/problem+json" in op["responses"]["401"]["content"], (method, path)
        if op.get("parameters") or op.get("requestBody"):
            assert "application/problem+json" in op["responses"]["422"]["content"], (method, path)
    readable = [op for (m, p), op in ops.items() if m == "get" and "{customer_id}" in p]
    for op in readable:
        names = {p["name"] for p in op["parameters"]}
        assert "known_at" in names or op["operationId"].startswith("customer_history"), op


def test_docs_page_is_served(anonymous: TestClient) -> None:
    r = anonymous.get("/api/docs")
    assert r.status_code == 200 and "openapi.json" in r.text
