"""GET /reports/timeliness and api/report: hand-computed figures over transfers written
through the case store at fixed dates, on SQLite and on PostgreSQL.

Spring bank holiday 2027 is Monday 31 May: every count from late May crosses it."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy
from sqlmodel import Session, select

from activities.case_store import CaseStoreActivities
from api.report import WorkingDays
from config import Settings
from models.days import add_working_days
from models.protocol import Calendar
from models.protocol_files import load_protocols
from models.tables import ReadRecord, Transfer, TransferEvent
from models.transfer import ChangeRecord, DeadlineStatus, DeadlineView, Stage
from ops.demo import seed_demo_directory
from tests.serving import store_only_client
from tests.test_case_store import LONDON, change

PROTOCOLS = load_protocols(Settings().protocols_dir)
MET, LATE, MISSED = DeadlineStatus.met, DeadlineStatus.met_late, DeadlineStatus.missed


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)


def write(store: CaseStoreActivities, tid: str, start: datetime, *,
          trail: Sequence[tuple[str, datetime]] = (),
          deadlines: Sequence[tuple[str, str, DeadlineStatus]] = (),
          transferred: datetime | None = None, stage: Stage = Stage.proposed,
          authority: str = "gateshead", team: str = "sgcp", pathway: str = "sgcp-to-lac",
          ) -> None:
    """One transfer's run: started at `start` (its anchor 09:00 that day), then `trail`'s
    events; every change carries the final view (the current row keeps the last)."""
    base = change(1, transfer_id=tid, run_id=f"run-{tid}", authority=authority,
                  from_team=team)
    view = base.view.model_copy(update={
        "pathway": pathway, "stage": stage, "anchor_at": at(start.date(), 9),
        "transferred_at": transferred,
        "deadlines": [DeadlineView(id=d, title=d, due_at=start, due_local="", status=s,
                                   met_when=m) for d, m, s in deadlines]})
    for seq, (kind, when) in enumerate([("started", start), *trail], start=1):
        store.record_change(ChangeRecord.model_validate(
            base.model_dump() | {"seq": seq, "kind": kind, "at": when, "note_ref": None,
                                 "view": view.model_dump() | {"seq": seq}}))


@pytest.fixture
def held(engine: sqlalchemy.Engine) -> sqlalchemy.Engine:
    seed_demo_directory(engine, {a: PROTOCOLS[a] for a in ("gateshead", "nottingham")})
    s = CaseStoreActivities(engine)
    tb, ab = ("transfer_by", "transferred"), ("allocate_by", "allocated")
    # May, sgcp, sgcp-to-lac: A within (4 working days, allocated at 5), B late (9),
    # C missed and disputed to level 3, declined; D running, two disputes.
    write(s, "A", at(date(2027, 5, 27)), transferred=at(date(2027, 6, 3), 15),
          trail=[("transferred", at(date(2027, 6, 3), 15)),
                 ("allocated", at(date(2027, 6, 4), 11))],
          deadlines=[(*tb, MET), (*ab, MET)], stage=Stage.allocated)
    write(s, "B", at(date(2027, 5, 28), 12), transferred=at(date(2027, 6, 11), 17),
          trail=[("deadline_missed", at(date(2027, 6, 10), 17)),
                 ("transferred", at(date(2027, 6, 11), 17))],
          deadlines=[(*tb, LATE), (*ab, MISSED)], stage=Stage.transferred)
    write(s, "C", at(date(2027, 5, 20)), deadlines=[(*tb, MISSED), (*ab, DeadlineStatus.pending)],
          trail=[("disputed", at(date(2027, 5, 21))), ("escalated", at(date(2027, 5, 24))),
                 ("escalated", at(date(2027, 5, 25))), ("declined", at(date(2027, 5, 26)))],
          stage=Stage.declined)
    write(s, "D", at(date(2027, 5, 10)), deadlines=[(*tb, DeadlineStatus.pending)],
          trail=[("disputed", at(date(2027, 5, 11))), ("dispute_resolved", at(date(2027, 5, 12))),
                 ("disputed", at(date(2027, 5, 13)))], stage=Stage.disputed)
    # June: E within (5 and 5); F, another team and pathway, withdrawn during a dispute.
    write(s, "E", at(date(2027, 6, 2)), transferred=at(date(2027, 6, 9)),
          trail=[("transferred", at(date(2027, 6, 9))), ("allocated", at(date(2027, 6, 9), 16))],
          deadlines=[(*tb, MET), (*ab, MET)], stage=Stage.allocated)
    write(s, "F", at(date(2027, 6, 15)), team="a-and-i", pathway="a-and-i-to-early-help",
          trail=[("disputed", at(date(2027, 6, 16))), ("escalated", at(date(2027, 6, 17))),
                 ("withdrawn", at(date(2027, 6, 18)))], stage=Stage.withdrawn)
    # H: May in London (April in UTC), transferred on a bank holiday (Mon 3 May): 0 days.
    write(s, "H", at(date(2027, 5, 1), 0, 30), transferred=at(date(2027, 5, 3)),
          pathway="sgcp-to-a-and-i")
    # Outside: another authority; July in London, though June in UTC.
    write(s, "G", at(date(2027, 5, 27)), authority="newcastle")
    write(s, "I", at(date(2027, 7, 1), 0, 30), transferred=at(date(2027, 7, 2)))
    return engine


@pytest.fixture
async def api(held: sqlalchemy.Engine) -> AsyncIterator[httpx.AsyncClient]:
    async with store_only_client(held) as client:
        yield client


def as_(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer demo-{who}"}


async def report(api: httpx.AsyncClient, query: str = "from=2027-05&to=2027-06",
                 who: str = "gateshead-director") -> dict[str, Any]:
    answer = await api.get(f"/reports/timeliness?{query}", headers=as_(who))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def row(body: dict[str, Any], team: str, pathway: str, month: str) -> dict[str, Any]:
    found: dict[str, Any] = next(r for r in body["rows"] if (r["team"], r["pathway"],
                                                            r["month"]) == (team, pathway, month))
    return found


async def test_the_figures_by_team_pathway_and_month(api: httpx.AsyncClient) -> None:
    body = await report(api)
    assert [(r["team"], r["pathway"], r["month"]) for r in body["rows"]] == [
        ("a-and-i", "a-and-i-to-early-help", "2027-06"), ("sgcp", "sgcp-to-a-and-i", "2027-05"),
        ("sgcp", "sgcp-to-lac", "2027-05"), ("sgcp", "sgcp-to-lac", "2027-06")]
    assert row(body, "sgcp", "sgcp-to-a-and-i", "2027-05")["median_working_days_to_transfer"] \
        == 0.0
    may = row(body, "sgcp", "sgcp-to-lac", "2027-05")
    assert (may["transfers"], may["decided"], may["within_timescale"]) == (4, 3, 1)
    assert may["within_timescale_pct"] == 33.3
    # A: Thu 27 May -> Thu 3 Jun is 4 working days (Mon 31 May a bank holiday); B: 9.
    assert may["median_working_days_to_transfer"] == 6.5
    assert may["median_working_days_to_allocation"] == 5.0
    assert may["breaches"] == {"allocate_by": 1, "transfer_by": 2}
    assert may["disputes"] == {"count": 3, "by_level": {"1": 2, "3": 1}, "by_outcome": {
        "proceed": 1, "redirect": 0, "decline": 1, "withdrawn": 0, "open": 1}}
    june = row(body, "sgcp", "sgcp-to-lac", "2027-06")
    assert (june["transfers"], june["within_timescale_pct"]) == (1, 100.0)
    assert june["median_working_days_to_transfer"] == 5.0
    other = row(body, "a-and-i", "a-and-i-to-early-help", "2027-06")
    assert (other["decided"], other["within_timescale_pct"]) == (0, None)
    assert other["disputes"]["by_level"] == {"2": 1}
    assert other["disputes"]["by_outcome"]["withdrawn"] == 1
    total = body["total"]
    assert (total["transfers"], total["decided"], total["within_timescale_pct"]) == (7, 5, 60.0)
    assert total["median_working_days_to_transfer"] == 4.5  # of 0, 4, 5 and 9


async def test_filters_and_a_service_head_sees_its_service(api: httpx.AsyncClient) -> None:
    body = await report(api, "from=2027-06&to=2027-06&team=sgcp")
    assert [r["month"] for r in body["rows"]] == ["2027-06"]
    body = await report(api, "from=2027-05&to=2027-06&pathway=a-and-i-to-early-help")
    assert [r["team"] for r in body["rows"]] == ["a-and-i"]
    assert body["total"]["transfers"] == 1
    # Nottingham's service head: none of Gateshead's transfers, but a readable answer.
    body = await report(api, who="nottingham-childrens_social_care-hos")
    assert body["rows"] == [] and body["scope"] != "authority"


async def test_the_csv_matches_the_json(api: httpx.AsyncClient) -> None:
    answer = await api.get("/reports/timeliness?from=2027-05&to=2027-06&format=csv",
                           headers=as_("gateshead-hos-1"))
    assert answer.headers["content-type"].startswith("text/csv")
    assert 'filename="timeliness-gateshead-2027-05-to-2027-06.csv"' in \
        answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert list(rows[0]) == [
        "team", "pathway", "month", "transfers", "decided", "within_timescale",
        "within_timescale_pct", "median_working_days_to_transfer",
        "median_working_days_to_allocation", "disputes", "disputes_proceed",
        "disputes_redirect", "disputes_decline", "disputes_withdrawn", "disputes_open",
        "disputes_level_1", "disputes_level_2", "disputes_level_3", "breaches_allocate_by",
        "breaches_transfer_by"]
    may = next(r for r in rows if (r["pathway"], r["month"]) == ("sgcp-to-lac", "2027-05"))
    j = row(await report(api), "sgcp", "sgcp-to-lac", "2027-05")
    assert may["within_timescale_pct"] == str(j["within_timescale_pct"]) == "33.3"
    assert may["median_working_days_to_transfer"] == "6.5"
    assert (may["breaches_transfer_by"], may["disputes_level_3"]) == ("2", "1")


async def test_others_are_refused_and_the_reads_recorded(api: httpx.AsyncClient,
                                                         held: sqlalchemy.Engine) -> None:
    for who in ("gateshead-sgcp-tm", "gateshead-iro"):
        answer = await api.get("/reports/timeliness?from=2027-05&to=2027-06", headers=as_(who))
        assert answer.status_code == 403
        assert "timeliness report is for" in answer.json()["detail"]
    await report(api)
    with Session(held) as session:
        reads = session.exec(select(ReadRecord).where(ReadRecord.what == "report")).all()
    assert sorted((r.staff_id, r.refused) for r in reads) == [
        ("gateshead-director", False), ("gateshead-iro", True), ("gateshead-sgcp-tm", True)]


@pytest.mark.parametrize(("query", "words"), [
    ("from=2027-01&to=2029-01", "at most 24 months"),
    ("from=2027-06&to=2027-05", "must not be before"),
    ("from=2027-13&to=2027-12", "YYYY-MM"),
    ("from=June&to=2027-12", "from"),
    ("to=2027-12", "from"),
    ("from=2027-01&to=2027-02&format=pdf", "format"),
])
async def test_bounds_are_refused_in_words(api: httpx.AsyncClient, query: str,
                                           words: str) -> None:
    answer = await api.get(f"/reports/timeliness?{query}", headers=as_("gateshead-director"))
    assert answer.status_code == 422
    assert words in answer.text


async def test_the_numbers_agree_with_the_store(api: httpx.AsyncClient,
                                                held: sqlalchemy.Engine) -> None:
    """Within timescale and disputes per month, counted again from the raw rows."""
    body = await report(api)
    with Session(held) as session:
        rows = session.exec(select(Transfer).where(Transfer.authority == "gateshead")).all()
        kinds = session.exec(select(TransferEvent.run_id, TransferEvent.kind)).all()
    disputed = [run for run, kind in kinds if kind == "disputed"]
    for month in ("2027-05", "2027-06"):
        mine = [t for t in rows if _london_month(t.started_at) == month]
        transfer_deadlines = [[d for d in t.view["deadlines"] if d["met_when"] == "transferred"]
                              for t in mine]
        late = [any(d["status"] in ("missed", "met_late") for d in ds)
                for ds in transfer_deadlines]
        done = [t.view["transferred_at"] is not None for t in mine]
        decided = sum(a or b for a, b in zip(late, done, strict=True))
        within = sum(b and not a for a, b in zip(late, done, strict=True))
        got = [r for r in body["rows"] if r["month"] == month]
        assert sum(r["decided"] for r in got) == decided
        assert sum(r["within_timescale"] for r in got) == within
        runs = {t.run_id for t in mine}
        assert sum(r["disputes"]["count"] for r in got) == sum(r in runs for r in disputed)


def _london_month(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(LONDON).strftime("%Y-%m")


def test_working_days_agree_with_the_deadline_count() -> None:
    """The report's count is the inverse of models/days.add_working_days."""
    days = WorkingDays(Calendar(), range(2026, 2029))
    closed = frozenset(days._closed)
    start = date(2027, 12, 1)
    for offset in range(0, 40):
        day0 = start + timedelta(days=offset)
        for n in (0, 1, 3, 7, 15):
            assert days.after(day0, add_working_days(day0, n, closed)) == n
