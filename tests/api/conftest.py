"""The machine API served in-process (Flask test client) over a fresh small city per module."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta

import dash
import pandas as pd
import pytest

from placecode.auth.tokens import issue_token
from placecode.settings import Settings
from tests.conftest import SECRET, DemoDb


@dataclass
class Api:
    db: DemoDb
    client: object
    device: str
    people: pd.DataFrame  # person_id, id_number, district_id, health_code
    now: datetime
    _ids = itertools.count()

    def scan_id(self) -> str:
        return f"t-{id(self)}-{next(self._ids)}"

    def post(self, body, token: str | None = None, **kwargs):
        headers = {"Authorization": f"Bearer {token or self.device}"}
        if isinstance(body, bytes | str):
            return self.client.post("/api/v1/scans", data=body, headers=headers, **kwargs)
        return self.client.post("/api/v1/scans", json=body, headers=headers, **kwargs)

    def ts(self, minutes_ago: int = 1) -> str:
        return (self.now - timedelta(minutes=minutes_ago)).isoformat() + "+08:00"

    def token(self, kind: str) -> str:
        with self.db.engine.begin() as conn:
            return issue_token(conn, kind, f"test {kind}", None, self.now)[1]


@pytest.fixture(scope="module")
def api(city_db) -> Api:
    db, url, instance = city_db, city_db.url, city_db.instance
    import app

    settings = Settings.load(env={}, database_url=url, secret_key=SECRET,
                             instance_dir=str(instance))
    flask_app = app.create_app(settings).server
    ingestor = flask_app.extensions["placecode_ingestor"]
    api = Api(db, flask_app.test_client(), "", pd.read_parquet(instance / "demo-people.parquet"),
              ingestor.now())
    api.device = api.token("device")
    yield api
    dash._pages.PAGE_REGISTRY.clear()
