"""The demo course page's CSP lets its tool frame travel the whole launch: tool → LMS OIDC page → tool."""

from __future__ import annotations


def test_course_page_may_frame_the_tool_and_its_own_oidc_page(make_app, monkeypatch):
    monkeypatch.setenv("LTI_TOOL_DEMO_LMS_URL", "http://127.0.0.1:8000")
    app = make_app(demo=True, base_url="http://localhost:8000")

    response = app.test_client().get("/demo/?as=student", base_url="http://127.0.0.1:8000")

    assert response.status_code == 200
    directives = dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    assert directives["frame-src"].split() == ["'self'", "http://localhost:8000"]
    assert directives["frame-ancestors"] == "'self'"
