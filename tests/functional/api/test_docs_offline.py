"""The interactive reference at /v1/docs works without the internet: the page names only
files the management API serves itself (Swagger UI from the pinned fastapi-offline
package), and those files are there. The browser test (tests/e2e/test_portal_browser.py)
renders it with every request off 127.0.0.1 refused."""

import re


def test_the_docs_page_loads_nothing_from_another_host(h):
    page = h.client.get("/v1/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    urls = re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", page.text)
    assert urls, page.text
    assert not [u for u in urls if re.match(r"(https?:)?//", u)], urls
    assert "/v1/docs/assets/swagger-ui-bundle.js" in urls
    assert "/v1/docs/assets/swagger-ui.css" in urls
    assert "/v1/openapi.json" in page.text
    assert "validatorUrl" in page.text  # the online validator badge is off


def test_the_swagger_ui_files_are_served_and_cacheable(h):
    js = h.client.get("/v1/docs/assets/swagger-ui-bundle.js")
    assert js.status_code == 200 and "SwaggerUIBundle" in js.text
    assert js.headers["content-type"].startswith("text/javascript")
    assert js.headers["cache-control"] == "public, max-age=86400"
    css = h.client.get("/v1/docs/assets/swagger-ui.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert h.client.get("/v1/docs/assets/other.js").status_code == 404


def test_the_docs_routes_are_not_in_the_openapi_document(h):
    paths = h.client.get("/v1/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/v1/docs")]
