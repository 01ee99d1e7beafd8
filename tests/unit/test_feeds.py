"""Feed import: every sample file loads on both databases, re-imports change nothing, bad rows
are rejected with line and column while good rows load, and feeds change the next verdict."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from placecode.clock import city_now
from placecode.db import schema as t
from placecode.ingest.feeds import FEEDS, FeedError, import_file, import_rows
from placecode.ingest.scans import Ingestor
from placecode.pseudonym import person_key
from tests.conftest import SECRET

SAMPLES = Path(__file__).parents[1] / "data" / "feeds"
TZ = "Asia/Shanghai"
ORDER = ["venues", "rosters", "vaccinations", "tests", "health_codes", "arrivals", "hotel_stays",
         "volunteer_passes", "scans"]


SAMPLES_NOW = datetime(2026, 11, 22, 12, 0)  # the samples' (and docs/feeds.md's) days lie before


def now() -> datetime:
    return city_now(TZ)


def rows(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar()


def load(engine, kind, data, **kw):
    return import_rows(engine, kind, data, secret=SECRET, now=now(), timezone=TZ, **kw)


def test_every_feed_has_a_sample_file():
    assert sorted(p.stem for p in SAMPLES.glob("*.csv")) == sorted(FEEDS) == sorted(ORDER)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_samples_load_and_reimport_changes_nothing(city_db, tmp_path, fmt):
    engine = city_db.engine
    for kind in ORDER:
        path = tmp_path / f"{kind}.csv"  # a copy: a rejects file must not land in the repo
        path.write_bytes((SAMPLES / f"{kind}.csv").read_bytes())
        if fmt == "parquet":  # typed columns, as another system would write them
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            for col in frame.columns:
                if col in ("ts", "since", "sampled_at", "arrived_at", "check_in"):
                    frame[col] = pd.to_datetime(frame[col])
            path = tmp_path / f"{kind}.parquet"
            frame.to_parquet(path)
        table = FEEDS[kind].table
        before = rows(engine, table)
        first = import_file(engine, kind, path, secret=SECRET, now=SAMPLES_NOW, timezone=TZ)
        assert first.rejected == [], (kind, first.rejected)
        assert first.valid == first.rows > 0
        after = rows(engine, table)
        again = import_file(engine, kind, path, secret=SECRET, now=SAMPLES_NOW, timezone=TZ)
        assert (again.valid, again.new, again.rejected) == (first.rows, 0, []), kind
        assert rows(engine, table) == after
        if fmt == "csv" and kind not in ("rosters",):
            assert after - before == first.rows, kind  # each sample row is a new row
    with engine.connect() as conn:  # raw ID numbers never reach the database
        keys = set(conn.execute(select(t.persons.c.person_key)).scalars())
    assert person_key("370102198806151239", SECRET) in keys
    assert "370102198806151239" not in keys


def test_bad_rows_are_rejected_by_line_and_column_and_good_rows_load(city_db, tmp_path):
    path = tmp_path / "tests.csv"
    path.write_text(
        "person,kind,sampled_at,result,site,lab\n"
        "110101199003071234,nucleic,2026-11-21T08:20:00+08:00,negative,A,L\n"   # line 2 ok
        ",nucleic,2026-11-21T08:20:00+08:00,negative,A,L\n"                     # 3 no person
        "110101199003071235,pcr,2026-11-21T08:20:00+08:00,negative,A,L\n"       # 4 kind
        "110101199003071236,nucleic,21/11/2026,negative,A,L\n"                  # 5 time
        "110101199003071237,nucleic,2026-11-21T09:00:00+08:00,negative,A,L\n"   # 6 ok
        "110101199003071238,antigen,2099-01-01T00:00:00+08:00,negative,A,L\n"   # 7 future
        "110101199003071239,nucleic,2026-11-21T09:00:00+08:00,maybe,A,L\n",     # 8 result
        encoding="utf-8")
    before = rows(city_db.engine, t.tests)
    report = import_file(city_db.engine, "tests", path, secret=SECRET, now=now(), timezone=TZ)
    assert (report.rows, report.valid, report.new) == (7, 2, 2)
    assert [line for line, _ in report.rejected] == [3, 4, 5, 7, 8]
    reasons = dict(report.rejected)
    assert reasons[3].startswith("person: missing")
    assert reasons[4].startswith("kind: 'pcr' is not one of nucleic, antigen")
    assert reasons[5].startswith("sampled_at: '21/11/2026' is not an ISO 8601 time")
    assert "future" in reasons[7] and reasons[8].startswith("result:")
    assert rows(city_db.engine, t.tests) == before + 2
    rejects = pd.read_csv(tmp_path / "tests.csv.rejects.csv", dtype=str)
    assert rejects["line"].astype(int).tolist() == [3, 4, 5, 7, 8]
    assert rejects.loc[1, "kind"] == "pcr"  # the original row, to fix and send again


def test_whole_file_problems_name_what_to_do(city_db, tmp_path):
    with pytest.raises(FeedError, match="required column.*result"):
        load(city_db.engine, "tests", [{"person": "x" * 18, "kind": "nucleic",
                                        "sampled_at": "2026-11-21T08:00:00"}])
    with pytest.raises(FeedError, match="unknown column.*colour"):
        load(city_db.engine, "vaccinations", [{"person": "x" * 18, "dose": "1",
                                               "vaccinated_on": "2021-01-01", "colour": "red"}])
    with pytest.raises(FeedError, match="unknown feed 'labs'"):
        load(city_db.engine, "labs", [])
    with pytest.raises(FeedError, match="no such file"):
        import_file(city_db.engine, "tests", tmp_path / "missing.csv", secret=SECRET, now=now())


def test_feeds_change_the_next_verdict(city_db):
    """Key-area arrival → red at a shop (monitoring); after monitoring, still a key person
    without a test → red; a negative test → green; a red health code → red again."""
    engine = city_db.engine
    ingest = Ingestor(engine, SECRET, TZ, 28)
    code = "371002S000001"
    who = "110101198001010011"
    clock = now()

    def verdict(minutes: int) -> tuple[str, list[str]]:
        r = ingest.ingest([{"scan_id": f"feeds-{who}-{minutes}-{clock:%H%M%S%f}",
                            "venue_code": code, "person": who,
                            "ts": (clock - timedelta(minutes=minutes)).isoformat() + "+08:00"}])
        return r[0]["verdict"], [x["rule"] for x in r[0]["reasons"]]

    arrived = (clock - timedelta(days=2)).isoformat()
    load(engine, "arrivals", [{"person": who, "arrived_at": arrived, "origin": "上海",
                               "key_area": "true", "stay_kind": "home"}])
    assert verdict(1) == ("red", ["arrival_monitoring", "key_person_test"])

    load(engine, "arrivals", [{"person": who, "arrived_at": arrived, "origin": "上海",
                               "key_area": "false", "stay_kind": "home"}])  # corrected record
    assert verdict(2) == ("green", [])

    earlier = (clock - timedelta(days=10)).isoformat()
    load(engine, "arrivals", [{"person": who, "arrived_at": earlier, "origin": "吉林",
                               "key_area": "true", "stay_kind": "home"}])
    assert verdict(3) == ("red", ["key_person_test"])
    tested = (clock - timedelta(hours=5)).isoformat()
    load(engine, "tests", [{"person": who, "kind": "nucleic", "sampled_at": tested,
                            "result": "negative"}])
    assert verdict(4) == ("green", [])

    load(engine, "health_codes", [{"person": who, "colour": "red",
                                   "since": (clock - timedelta(minutes=30)).isoformat()}])
    with engine.connect() as conn:
        assert conn.execute(select(t.persons.c.health_code).where(
            t.persons.c.person_key == person_key(who, SECRET))).scalar() == "red"
    assert verdict(5) == ("red", ["health_code_red"])


def test_roster_moves_a_resident_home(city_db):
    engine = city_db.engine
    with engine.connect() as conn:
        b = conn.execute(select(t.buildings.c.id, t.buildings.c.community_id)
                         .order_by(t.buildings.c.id.desc()).limit(1)).one()
    who = "110101198001010022"
    report = load(engine, "rosters", [{"person": who, "building_id": str(b.id)},
                                      {"person": who[:-1] + "3", "building_id": "999999999"}])
    assert report.valid == 1 and "not a known building id" in report.rejected[0][1]
    with engine.connect() as conn:
        home = conn.execute(select(t.persons.c.building_id, t.persons.c.community_id).where(
            t.persons.c.person_key == person_key(who, SECRET))).one()
    assert tuple(home) == (b.id, b.community_id)
