"""The published OpenAPI document cannot drift from the routes: every /api/v1 route is in it,
and its examples pass its own schemas."""

from __future__ import annotations

import jsonschema_rs
from flask import Flask

from placecode.ingest.api import OPEN_ROUTES, api
from placecode.ingest.feeds import FEEDS
from placecode.ingest.openapi import FEED_EXAMPLES, SCAN, document


def test_openapi_names_every_api_route_and_method():
    server = Flask(__name__)
    server.register_blueprint(api)
    doc = document()
    for rule in server.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint in OPEN_ROUTES:
            continue
        paths = ([rule.rule.replace("<kind>", k) for k in FEEDS] if "<kind>" in rule.rule
                 else [rule.rule.replace("<int:incident_id>", "{incident_id}")])
        for path in paths:
            assert path in doc["paths"], path
            assert set(rule.methods) - {"HEAD", "OPTIONS"} == {
                m.upper() for m in doc["paths"][path]}, path


def test_openapi_examples_pass_their_own_schemas():
    schemas = document()["components"]["schemas"]
    assert jsonschema_rs.validator_for(SCAN).is_valid(SCAN["examples"][0])
    for kind in FEEDS:
        validator = jsonschema_rs.validator_for(schemas[f"Feed_{kind}"])
        assert validator.is_valid(FEED_EXAMPLES[kind]), kind
        assert not validator.is_valid(FEED_EXAMPLES[kind] | {"colum_misspelt": "x"}), kind
