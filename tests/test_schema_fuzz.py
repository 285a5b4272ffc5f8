"""Requests generated from our own OpenAPI schema (``/api/chatbot/schema``) by schemathesis, sent to the
WSGI application: no 5xx, and every answer matches the schema (status, content type, body, headers).

Deterministic: Hypothesis is derandomized and the number of examples per operation is bounded.
Requests carry a valid CSRF cookie and header, so they reach the views instead of all stopping at 403,
and Stream Chat is switched on against its loopback fake, so its endpoints answer for real.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fakes.stream_server import stream_fixture  # noqa: F401 - the "stream" fixture: Stream on, faked

CSRF = "fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


SETTINGS = settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)


# The WSGI handler closes the connection after each request (Django's test client would not), so the
# test cannot run inside one transaction.
@pytest.mark.django_db(transaction=True)
def test_the_api_keeps_its_own_schema(settings, stream):  # noqa: F811 - pytest-django's fixture, not Hypothesis'
    from django.core.wsgi import get_wsgi_application

    settings.CHATBOT = {**settings.CHATBOT, "PROVIDER": "tests.providers.RecordingProvider", "RATE_LIMITS": "off"}
    cache.clear()
    schema = schemathesis.openapi.from_wsgi("/api/chatbot/schema", get_wsgi_application())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/chatbot/messages", "/api/chatbot/stop"}
    tested = []
    for operation in operations:

        @SETTINGS
        @given(case=operation.as_strategy())
        def exercise(case) -> None:
            case.call_and_validate(headers={"X-CSRFToken": CSRF}, cookies={"csrftoken": CSRF}, checks=CHECKS)

        exercise()
        tested.append(f"{operation.method.upper()} {operation.path}")
    assert len(tested) == len(operations)
