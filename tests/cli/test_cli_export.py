"""`placecode export foot-traffic` as a planner's operator runs it: the economy page's cube as
CSV or Parquet, raw counts where shown, nothing where fewer than k persons; bad options named."""

from __future__ import annotations

import io

import pandas as pd
from sqlalchemy import text

from placecode.db.engine import get_engine
from tests.cli.conftest import run
from tests.cli.test_cli import assert_one_line_error, placecode
from tests.conftest import SECRET


def raw_counts(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(text(
            "SELECT v.kind, v.district_id, date(s.ts), count(*), count(DISTINCT s.person_id) "
            "FROM scans s JOIN venues v ON v.id = s.venue_id GROUP BY 1, 2, 3")).all(),
            columns=["industry", "district", "day", "raw", "persons"])


def test_export_csv_equals_raw_counts_where_shown(city):
    result = run(city, "export", "foot-traffic", "--by", "industry,district,day")
    assert result.returncode == 0, result.stderr
    got = pd.read_csv(io.StringIO(result.stdout), dtype={"day": str})
    assert list(got.columns) == ["industry", "district", "day", "scans", "suppressed"]
    both = got.merge(raw_counts(get_engine(f"sqlite:///{city / 'placecode.db'}")),
                     on=["industry", "district", "day"], how="outer", indicator=True)
    assert (both["_merge"] == "both").all()  # every cell with scans, and no other
    shown = both[~both["suppressed"]]
    assert (shown["scans"] == shown["raw"]).all() and len(shown) > 0
    assert both.loc[both["suppressed"], "scans"].isna().all()
    assert (both.loc[both["persons"] < 10, "suppressed"]).all()  # k = 10 by default


def test_export_parquet_with_a_higher_k_suppresses_more(city, tmp_path):
    """k from PLACECODE_MIN_CELL_PERSONS: at the median cell's persons, every cell below it
    is suppressed and the rest partly shown."""
    raw = raw_counts(get_engine(f"sqlite:///{city / 'placecode.db'}"))
    k = int(raw["persons"].median())
    out = tmp_path / "ft.parquet"
    result = placecode("export", "foot-traffic", "--format", "parquet", "--out", str(out),
                       tmp_path=city, env={"PLACECODE_SECRET_KEY": SECRET,
                                           "PLACECODE_MIN_CELL_PERSONS": str(k)})
    assert result.returncode == 0, result.stderr
    assert "suppressed: fewer than" in result.stderr
    frame = pd.read_parquet(out)
    frame["day"] = frame["day"].astype(str)
    both = frame.merge(raw, on=["industry", "district", "day"])
    assert len(both) == len(raw)
    assert both.loc[both["persons"] < k, "suppressed"].all()
    assert (~both["suppressed"]).any()
    shown = both[~both["suppressed"]]
    assert (shown["scans"] == shown["raw"]).all()


def test_export_names_bad_options(city, tmp_path):
    assert_one_line_error(run(city, "export", "foot-traffic", "--by", "industry,person"),
                          "person is not a dimension")
    assert_one_line_error(run(city, "export", "foot-traffic", "--format", "parquet"),
                          "needs --out")
    assert_one_line_error(run(city, "export", "foot-traffic", "--from", "2026-13-01"),
                          "YYYY-MM-DD")
