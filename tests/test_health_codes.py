"""The unauthenticated health endpoint answers a status and a code per component, never what an
upstream said: its error bodies can quote a masked key or name an internal host. Details go to the log."""

from __future__ import annotations

import logging

import pytest

from tests.fakes.server import FakeHandler, FakeServer, Recorded

pytestmark = pytest.mark.django_db

SECRET_BITS = ["sk-wr", "1234", "internal-llm.corp.local", "10.2.3.4", "Traceback", "Incorrect API key"]
BODY = {
    "error": {
        "message": "Incorrect API key provided: sk-wr**********1234. Ask at https://internal-llm.corp.local/keys "
        "(upstream 10.2.3.4)",
        "type": "invalid_request_error",
        "code": "invalid_api_key",
    }
}


class Upstream(FakeServer):
    """An OpenAI-compatible server that fails its ``/v1/models`` in the way the test says."""

    def __init__(self, status: int, body: object) -> None:
        super().__init__()
        self.status, self.body = status, body

    def handle(self, handler: FakeHandler, request: Recorded) -> None:
        if isinstance(self.body, str):
            payload = self.body.encode()
            handler.send_response(self.status)
            handler.send_header("Content-Type", "text/html")
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        else:
            handler.send_json(self.status, self.body)


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (401, BODY, "upstream_auth"),
        (403, BODY, "upstream_auth"),
        (429, BODY, "upstream_rate_limited"),
        (500, "<html>Traceback at internal-llm.corp.local 10.2.3.4 sk-wr**1234</html>", "upstream_unavailable"),
        (200, "Incorrect API key sk-wr 1234 internal-llm.corp.local", "upstream_bad_response"),
    ],
)
def test_a_failing_provider_is_named_with_a_code_and_its_answer_goes_to_the_log(
    client, settings, caplog, status, body, code
):
    with Upstream(status, body) as upstream:
        settings.CHATBOT = {
            **settings.CHATBOT,
            "PROVIDER": "openai",
            "OPENAI_BASE_URL": f"{upstream.url}/v1",
            "OPENAI_API_KEY": "sk-wrong-key-1234",
        }
        with caplog.at_level(logging.WARNING, logger="chatbot.health"):
            response = client.get("/api/chatbot/health")
    assert response.status_code == 503
    text = response.content.decode()
    assert not [bit for bit in SECRET_BITS if bit in text], text
    provider = response.json()["checks"]["provider"]
    assert provider["ok"] is False
    assert provider["detail"] == code, text
    assert set(response.json()["checks"]["database"]) == {"ok", "detail"}
    assert "Health: provider openai failed" in caplog.text


def test_an_unreachable_provider_is_a_code_too(client, settings):
    settings.CHATBOT = {**settings.CHATBOT, "PROVIDER": "openai", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    response = client.get("/api/chatbot/health")
    assert response.status_code == 503
    assert response.json()["checks"]["provider"] == {"ok": False, "detail": "upstream_unavailable"}
    assert "127.0.0.1:9" not in response.content.decode()


def test_every_detail_is_a_code(client):
    body = client.get("/api/chatbot/health").json()
    assert body["status"] == "ok"
    assert body["checks"] == {
        "database": {"ok": True, "detail": "ok"},
        "provider": {"ok": True, "detail": "ok"},
        "stream": {"ok": True, "detail": "disabled"},
    }
