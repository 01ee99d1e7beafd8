"""Generated residents and their health facts: ID numbers (hashed at once), health codes, tests,
vaccinations, arrivals."""

from __future__ import annotations

import numpy as np
import pandas as pd

from placecode import pseudonym
from placecode.pseudonym import person_keys

DAY = np.timedelta64(1, "D")
ID_WEIGHTS = np.array(pseudonym.ID_WEIGHTS)
ID_CHECK = np.array(list(pseudonym.ID_CHECK))
KEY_ORIGINS = ["上海", "吉林", "长春", "深圳"]
OTHER_ORIGINS = ["北京", "青岛", "烟台", "济南", "大连", "天津", "杭州", "南京", "沈阳", "哈尔滨"]
LABS = ["市疾控中心实验室", "市立医院检验科", "文登整骨医院检验科", "荣成人民医院检验科",
        "乳山人民医院检验科", "第三方检测实验室"]


def id_numbers(region: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Synthetic 18-digit resident ID numbers (GB 11643 layout and check digit), all distinct.

    Uniqueness by construction: the sequence number counts up within (region, birth date).
    """
    n = len(region)
    birth = np.datetime64("1942-01-01") + rng.integers(0, 365 * 80, n).astype("timedelta64[D]")
    seq = pd.DataFrame({"r": region, "b": birth}).groupby(["r", "b"]).cumcount().to_numpy() + 1
    sex = rng.integers(0, 2, n)
    seq3 = (seq * 2 - 1 + sex) % 1000  # odd for men, even for women, as the standard has it
    ymd = np.datetime_as_string(birth).astype("U10")
    body = np.char.add(np.char.add(region.astype("U6"), np.char.replace(ymd, "-", "")),
                       np.char.zfill(seq3.astype("U3"), 3))
    digits = np.frombuffer(body.astype("S17").tobytes(), dtype=np.uint8).reshape(n, 17) - 48
    check = ID_CHECK[(digits * ID_WEIGHTS).sum(axis=1) % 11]
    return np.char.add(body, check)


def make_persons(
    buildings: pd.DataFrame,
    residents_per_district: np.ndarray,
    district_ids: np.ndarray,
    now: np.datetime64,
    secret: str,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Residents living in buildings of their district; columns match the `persons` table plus
    `activity` (relative scans per day)."""
    frames = []
    for did, n in zip(district_ids, residents_per_district, strict=True):
        homes = buildings[buildings.district_id == did]
        pick = rng.integers(0, len(homes), int(n))
        frames.append(pd.DataFrame({
            "district_id": did,
            "community_id": homes["community_id"].to_numpy()[pick],
            "building_id": homes["id"].to_numpy()[pick],
        }))
    p = pd.concat(frames, ignore_index=True)
    p.insert(0, "id", np.arange(1, len(p) + 1, dtype=np.int64))
    ids = id_numbers(p["district_id"].to_numpy().astype(str), rng)
    p["birth_year"] = [int(s[6:10]) for s in ids.tolist()]
    p["person_key"] = person_keys(ids.tolist(), secret)
    p["id_number"] = ids  # kept only for the demo's simulator (instance/demo-people.parquet)
    # Risk differs by district (one may have an outbreak): a 1.15% base rate times a lognormal
    # district factor; 1.7% flagged city-wide for the city preset with seed 7.
    risk = dict(zip(district_ids, rng.lognormal(0.0, 0.6, len(district_ids)), strict=True))
    u = rng.random(len(p)) / p["district_id"].map(risk).to_numpy()
    p["health_code"] = np.where(u < 0.0025, "red", np.where(u < 0.0115, "yellow", "green"))
    since = now - rng.integers(3600, 7 * 86400, len(p)).astype("timedelta64[s]")
    p["health_code_since"] = np.where(p["health_code"] == "green", np.datetime64("NaT"), since)
    active = rng.gamma(2.0, 0.5, len(p))
    p["activity"] = np.where(p["health_code"] == "green", active, active * 0.3)
    return p


def make_health_codes(persons: pd.DataFrame) -> dict[str, np.ndarray]:
    flagged = persons[persons.health_code != "green"]
    reason = np.where(flagged.health_code == "red", "close_contact", "key_area_arrival")
    return {
        "person_id": flagged["id"].to_numpy(),
        "colour": flagged["health_code"].to_numpy(),
        "since": flagged["health_code_since"].to_numpy("datetime64[s]"),
        "reason": reason,
    }


def daytime(days: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A time between 07:00 and 19:00 on each given day."""
    return days + rng.integers(7 * 3600, 19 * 3600, len(days)).astype("timedelta64[s]")


def make_tests(
    persons: pd.DataFrame, sites: pd.DataFrame, start: np.datetime64, now: np.datetime64,
    rng: np.random.Generator, daily: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Nucleic (about 12% of residents a day) and antigen tests (2%) from `start` up to now, at
    the sampling site of the person's community. Communities differ (a lognormal factor), so
    some fall behind in a testing round as real ones did. The `daily` persons (volunteer pass
    holders) test most days, as their pass requires; a few lapse (what the pass check finds)."""
    n_days = int((now.astype("datetime64[D]") - start.astype("datetime64[D]")) / DAY) + 1
    community = persons["community_id"].to_numpy()
    ids = np.unique(community)
    factor = pd.Series(rng.lognormal(0.0, 0.5, len(ids)), index=ids).reindex(community).to_numpy()
    if daily is not None:  # 0.12 * 6 = 72% of them a day: nearly all within 48 h
        factor = np.where(np.isin(persons["id"].to_numpy(), daily), 6.0, factor)
    pid, kind, when = [], [], []
    for i in range(n_days):
        day = start.astype("datetime64[D]") + i * DAY
        for k, share in (("nucleic", 0.12), ("antigen", 0.02)):
            who = np.flatnonzero(rng.random(len(persons)) < share * factor)
            t = daytime(np.full(len(who), day.astype("datetime64[s]")), rng)
            keep = t <= now
            pid.append(persons["id"].to_numpy()[who][keep])
            kind.append(np.full(keep.sum(), k))
            when.append(t[keep])
    pid, kind, when = np.concatenate(pid), np.concatenate(kind), np.concatenate(when)
    red = persons.set_index("id")["health_code"].reindex(pid).to_numpy() == "red"
    result = np.where(red & (rng.random(len(pid)) < 0.5), "positive", "negative")
    recent = when > now - np.timedelta64(6, "h")
    result = np.where(recent & (kind == "nucleic") & (rng.random(len(pid)) < 0.6), "pending",
                      result)
    site_of = (sites.explode("community_ids").astype({"community_ids": "int64"})
               .set_index("community_ids")["name"])
    site = site_of.reindex(persons.set_index("id")["community_id"].reindex(pid)).to_numpy()
    return {"person_id": pid, "kind": kind, "sampled_at": when, "result": result, "site": site,
            "lab": np.array(LABS)[rng.integers(0, len(LABS), len(pid))]}


def make_vaccinations(
    persons: pd.DataFrame, now: np.datetime64, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """One row per vaccinated person for the latest dose (earlier doses are implied)."""
    dose = rng.choice(4, size=len(persons), p=[0.08, 0.04, 0.30, 0.58])
    has = dose > 0
    today = now.astype("datetime64[D]")
    when = today - rng.integers(30, 720, has.sum()).astype("timedelta64[D]")
    return {"person_id": persons["id"].to_numpy()[has], "dose": dose[has], "vaccinated_on": when}


def make_arrivals(
    persons: pd.DataFrame, now: np.datetime64, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """About 0.3% of residents arrived in the last 14 days; a fifth from key areas."""
    who = np.flatnonzero(rng.random(len(persons)) < 0.003)
    key = rng.random(len(who)) < 0.2
    origin = np.where(key, np.array(KEY_ORIGINS)[rng.integers(0, len(KEY_ORIGINS), len(who))],
                      np.array(OTHER_ORIGINS)[rng.integers(0, len(OTHER_ORIGINS), len(who))])
    return {
        "person_id": persons["id"].to_numpy()[who],
        "arrived_at": now - rng.integers(600, 14 * 86400, len(who)).astype("timedelta64[s]"),
        "origin": origin,
        "key_area": key,
        "stay_kind": (stay := np.where(rng.random(len(who)) < 0.35, "hotel", "home")),
        "monitoring_days": np.where(key, 7, 0),
        "address": np.where(stay == "hotel", "入住宾馆", "居家"),
    }


def make_key_persons(persons: pd.DataFrame, now: np.datetime64, rng: np.random.Generator
                     ) -> dict[str, np.ndarray]:
    """Close (0.05%) and secondary contacts (0.1%) under observation for 14 days, and the
    management list: most red-code holders' cases plus a few others (0.01%)."""
    n = len(persons)
    red = persons["health_code"].to_numpy() == "red"
    u = rng.random(n)
    category = np.where(red & (u < 0.8), "managed",
                        np.where(u < 0.0001, "managed",
                                 np.where(u < 0.0006, "close_contact",
                                          np.where(u < 0.0016, "secondary_contact", ""))))
    who = np.flatnonzero(category != "")
    since = now - rng.integers(3600, 6 * 86400, len(who)).astype("timedelta64[s]")
    observed = category[who] != "managed"
    until = np.where(observed, since + np.timedelta64(14, "D"), np.datetime64("NaT"))
    reason = np.where(category[who] == "managed", "确诊或无症状感染者管控",
                      np.where(category[who] == "close_contact", "密接", "次密接"))
    return {"person_id": persons["id"].to_numpy()[who], "category": category[who],
            "since": since, "until": until.astype("datetime64[s]"), "reason": reason,
            "added_by": np.full(len(who), "demo")}


def make_hotel_stays(arrivals: dict[str, np.ndarray], persons: pd.DataFrame,
                     venues: pd.DataFrame, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Arrivals who stay in a hotel check into one in their home district on arrival."""
    hotel = arrivals["stay_kind"] == "hotel"
    pid = arrivals["person_id"][hotel]
    district = persons.set_index("id")["district_id"].reindex(pid).to_numpy()
    hotels = venues[venues.kind == "hotel"]
    venue = np.empty(len(pid), dtype=np.int64)
    for d in np.unique(district):
        ids = hotels[hotels.district_id == d]["id"].to_numpy()
        sel = district == d
        venue[sel] = ids[rng.integers(0, len(ids), sel.sum())]
    check_in = arrivals["arrived_at"][hotel]
    return {"person_id": pid, "venue_id": venue, "check_in": check_in,
            "check_out": check_in + np.timedelta64(7, "D")}


def make_volunteer_passes(persons: pd.DataFrame, now: np.datetime64, rng: np.random.Generator
                          ) -> dict[str, np.ndarray]:
    """About 0.5% of residents hold a volunteer pass, issued in the last 33 days for 30 days
    (so about one in eleven has just expired)."""
    who = np.flatnonzero(rng.random(len(persons)) < 0.005)
    issued = now.astype("datetime64[D]") - rng.integers(0, 33, len(who))
    orgs = np.array(["社区志愿者", "物业", "保供企业", "医疗机构", "街道办"])
    return {"pass_id": np.char.add("VP", np.char.zfill(np.arange(1, len(who) + 1).astype("U7"),
                                                         7)),
            "person_id": persons["id"].to_numpy()[who],
            "organisation": orgs[rng.integers(0, len(orgs), len(who))],
            "issued_on": issued, "expires_on": issued + 30}
