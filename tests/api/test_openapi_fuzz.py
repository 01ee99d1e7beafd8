"""The published contract under a real fuzzer: schemathesis generates requests from
/api/v1/openapi.json (valid ones and ones that break the schema) against a live `placecode
serve` on each database, and every answer must be no 5xx and conform to the document (status
code, content type, headers, body schema). Bounded: EXAMPLES per operation and mode, no
shrinking."""

from __future__ import annotations

import json
import urllib.request
from collections import Counter
from datetime import datetime

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from placecode.auth.tokens import issue_token
from tests.browser.conftest import ARTIFACTS, start_server, stop_server

EXAMPLES = 40
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
# Left out on purpose: negative_data_rejection (a batch with one schema-breaking scan is a 200
# that answers that item by itself: the good ones are stored, by design) and
# positive_data_acceptance (a well-formed scan at an unregistered venue is rightly a 422).
TOKEN_FOR = {"deviceToken": "device", "feedToken": "feed", "partnerToken": "partner"}


@pytest.fixture(scope="module")
def live_api(city_db):
    url, proc, log = start_server(city_db.instance, city_db.url)
    with city_db.engine.begin() as conn:
        tokens = {name: issue_token(conn, kind, f"fuzz {kind}", None, datetime.now())[1]
                  for name, kind in TOKEN_FOR.items()}
    try:
        yield url, tokens
    finally:
        stop_server(proc, log)


def test_openapi_document_is_served_and_names_every_api_route(live_api):
    url, _ = live_api
    with urllib.request.urlopen(url + "/api/v1/openapi.json") as r:
        doc = json.load(r)
    assert doc["openapi"] == "3.1.0"
    assert {"/api/v1/scans", "/api/v1/denylist", "/api/v1/incidents/{incident_id}/steps",
            "/api/v1/feeds/tests", "/api/v1/feeds/scans", "/healthz"} <= set(doc["paths"])
    with urllib.request.urlopen(url + "/api/v1/docs") as r:
        page = r.read().decode()
    assert "/assets/vendor/swagger-ui/swagger-ui-bundle.js" in page and "https://" not in page


def fuzz(operation, mode, url: str, headers: dict, tried: Counter, failures: list) -> None:
    """EXAMPLES generated requests for one operation in one mode, each checked."""
    label = operation.label

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case):
        tried[label] += 1
        try:
            case.call_and_validate(base_url=url, headers=headers, checks=CHECKS, timeout=60)
        except (AssertionError, BaseExceptionGroup) as exc:  # it says how to repeat the request
            failures.append(f"{label} [{mode}]: {str(exc)[:1500]}")

    try:
        run()
    except Unsatisfiable:  # an operation with no input (healthz) has nothing to break
        assert mode == GenerationMode.NEGATIVE, label


def test_fuzzer_finds_no_5xx_and_every_answer_conforms(live_api, record_property):
    url, tokens = live_api
    schema = schemathesis.openapi.from_url(url + "/api/v1/openapi.json")
    tried: Counter = Counter()
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        scheme = next(iter((operation.definition.raw.get("security") or [{}])[0]), None)
        headers = {"Authorization": f"Bearer {tokens[scheme]}"} if scheme else {}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz(operation, mode, url, headers, tried, failures)
    record_property("fuzz_cases", sum(tried.values()))
    print(f"schemathesis tried {sum(tried.values())} cases: {dict(tried)}")
    assert len(tried) >= 12, tried  # every operation of the document was fuzzed
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "fuzz-failures.txt").write_text("\n\n".join(failures))
    assert not failures, "\n\n".join(failures[:10])
