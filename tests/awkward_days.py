"""Run the time-skipping tests as if today were each of a set of awkward instants.

    .venv/bin/python -m tests.awkward_days              # every instant, two at a time
    .venv/bin/python -m tests.awkward_days --list       # the instants this run would use
    .venv/bin/python -m tests.awkward_days --only good-friday-1 --only new-year-eve
    .venv/bin/python -m tests.awkward_days --at 2027-05-28T16:30 -- tests/test_api.py
    make test-awkward-days [ARGS="..."]

Each instant is run by a pytest process of its own with CASEFLOW_TEST_TODAY set to it and
`-m time_skipping` (every test that uses the `ts_env` fixture: the server's clock is moved
to the instant before the test begins; see tests/dates.py). The instants are worked out from
the real date, so they are always ahead of it: the Monday of the week before each of the
next two Christmases, the next two Good Fridays, the next two Fridays before a bank-holiday
Monday (16:30), the next weekend the clocks go forward (00:30 GMT and 02:30 BST on the
Sunday) and back (01:30 BST and 01:30 GMT, the same wall-clock time twice), 23:30 on the
next two 31 Decembers, and 00:30 BST on a summer weekday (the London date is a day ahead of
the UTC date).

The table at the end gives, per instant, the tests run, passed, failed (with their ids).
Exit status 0 only if every instant passed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time as clock
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import holidays

from tests.dates import LONDON, TODAY_VARIABLE, parse_today

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Instant:
    name: str
    what: str
    value: str  # as CASEFLOW_TEST_TODAY takes it

    @property
    def at(self) -> datetime:
        return parse_today(self.value)


@dataclass
class Outcome:
    instant: Instant
    tests: int = 0
    passed: int = 0
    failed: list[str] = field(default_factory=list)
    skipped: int = 0
    xfailed: int = 0
    seconds: float = 0.0
    exit_code: int = 0
    log: str = ""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.failed


def _bank_holidays(year: int) -> set[date]:
    return set(holidays.country_holidays("GB", subdiv="ENG", years=[year]))


def _days_from(start: date) -> Iterator[date]:
    day = start
    while True:
        yield day
        day += timedelta(days=1)


def _wall(day: date, hh: int, mm: int = 0, offset: str | None = None) -> str:
    text = f"{day.isoformat()}T{hh:02d}:{mm:02d}"
    return text + offset if offset else text


def _last_sunday(year: int, month: int) -> date:
    day = date(year, month + 1, 1) - timedelta(days=1)
    return day - timedelta(days=(day.weekday() + 1) % 7)


def awkward_instants(now: datetime) -> list[Instant]:
    """The awkward instants after `now` (a margin of a day, so none passes during a run)."""
    after = now + timedelta(days=1)
    first = after.astimezone(LONDON).date()
    found: list[Instant] = []

    def ahead(value: str) -> bool:
        return parse_today(value) > after

    # The week before the next two Christmases (they fall on different days): its Monday,
    # 09:00.
    mondays = [christmas - timedelta(days=christmas.weekday() or 7)
               for christmas in (date(y, 12, 25) for y in range(first.year, first.year + 3))]
    for n, monday in enumerate([m for m in mondays if ahead(_wall(m, 9))][:2], start=1):
        found.append(Instant(f"week-before-christmas-{n}", f"{monday:%a %d %b %Y} 09:00, the "
                             f"week before Christmas", _wall(monday, 9)))
    # The next two Good Fridays, 09:00.
    fridays = [d for y in range(first.year, first.year + 4) for d in sorted(_bank_holidays(y))
               if d.weekday() == 4 and (d + timedelta(days=3)) in _bank_holidays(d.year)
               and d.month in (3, 4) and ahead(_wall(d, 9))][:2]
    for n, friday in enumerate(fridays, start=1):
        found.append(Instant(f"good-friday-{n}", f"{friday:%a %d %b %Y} 09:00, Good Friday",
                             _wall(friday, 9)))
    # The next two Fridays (working days) before a bank-holiday Monday, 16:30.
    n = 0
    for day in _days_from(first):
        monday = day + timedelta(days=3)
        if day.weekday() == 4 and day not in _bank_holidays(day.year) \
                and monday in _bank_holidays(monday.year) and ahead(_wall(day, 16, 30)):
            n += 1
            found.append(Instant(f"friday-before-bank-holiday-{n}",
                                 f"{day:%a %d %b %Y} 16:30, before the bank holiday on "
                                 f"{monday:%a} {monday.day} {monday:%b}", _wall(day, 16, 30)))
            if n == 2:
                break
    # The clocks go forward (01:00 GMT on the last Sunday of March) and back (01:00 UTC on
    # the last Sunday of October).
    for year in range(first.year, first.year + 2):
        sunday = _last_sunday(year, 3)
        if ahead(_wall(sunday, 0, 30)):
            found.append(Instant("clocks-forward-before", f"{sunday:%a %d %b %Y} 00:30 GMT, "
                                 "half an hour before the clocks go forward",
                                 _wall(sunday, 0, 30)))
            found.append(Instant("clocks-forward-after", f"{sunday:%a %d %b %Y} 02:30 BST, "
                                 "just after", _wall(sunday, 2, 30)))
            break
    for year in range(first.year, first.year + 2):
        sunday = _last_sunday(year, 10)
        if ahead(_wall(sunday, 1, 30, "+01:00")):
            found.append(Instant("clocks-back-first", f"{sunday:%a %d %b %Y} 01:30 BST, the "
                                 "first 01:30 (the clocks go back at 02:00 BST)",
                                 _wall(sunday, 1, 30, "+01:00")))
            found.append(Instant("clocks-back-second", f"{sunday:%a %d %b %Y} 01:30 GMT, the "
                                 "second 01:30", _wall(sunday, 1, 30, "+00:00")))
            break
    # The turn of the next two years.
    eves = [date(y, 12, 31) for y in range(first.year, first.year + 3)]
    for n, eve in enumerate([e for e in eves if ahead(_wall(e, 23, 30))][:2], start=1):
        found.append(Instant(f"new-year-eve-{n}", f"{eve:%a %d %b %Y} 23:30 GMT",
                             _wall(eve, 23, 30)))
    # 00:30 BST on a summer weekday (a Tuesday in mid-June): the London date is the UTC
    # date's next day.
    for year in range(first.year, first.year + 2):
        tuesday = date(year, 6, 10)
        tuesday += timedelta(days=(1 - tuesday.weekday()) % 7)
        if ahead(_wall(tuesday, 0, 30)):
            found.append(Instant("summer-after-midnight", f"{tuesday:%a %d %b %Y} 00:30 BST "
                                 f"({tuesday - timedelta(days=1):%a %d %b} 23:30 UTC)",
                                 _wall(tuesday, 0, 30)))
            break
    return sorted(found, key=lambda i: i.at)


def run_one(instant: Instant, pytest_args: list[str], workdir: Path) -> Outcome:
    report = workdir / f"{instant.name}.xml"
    env = {**os.environ, TODAY_VARIABLE: instant.value}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "-m", "time_skipping", f"--junitxml={report}", *pytest_args]
    started = clock.monotonic()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          check=False)
    outcome = Outcome(instant, seconds=clock.monotonic() - started, exit_code=done.returncode,
                      log=done.stdout[-4000:] + done.stderr[-2000:])
    if not report.exists():
        outcome.failed.append(f"(pytest did not run: exit {done.returncode})")
        return outcome
    for case in ET.parse(report).getroot().iter("testcase"):
        outcome.tests += 1
        test_id = f"{case.get('classname')}::{case.get('name')}"
        if case.find("failure") is not None or case.find("error") is not None:
            outcome.failed.append(test_id)
        elif (skip := case.find("skipped")) is not None:
            if (skip.get("type") or "").endswith("xfail"):
                outcome.xfailed += 1
            else:
                outcome.skipped += 1
        else:
            outcome.passed += 1
    return outcome


def table(outcomes: list[Outcome]) -> str:
    lines = ["| instant | CASEFLOW_TEST_TODAY | tests | passed | failed | xfailed | skipped | "
             "time |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for o in outcomes:
        lines.append(f"| {o.instant.what} | `{o.instant.value}` | {o.tests} | {o.passed} | "
                     f"{len(o.failed)} | {o.xfailed} | {o.skipped} | {o.seconds / 60:.1f} min |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="print the instants and stop")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="run only this instant (by name; repeatable)")
    parser.add_argument("--at", action="append", default=[], metavar="ISO",
                        help="run this instant instead (London time, or with its offset)")
    parser.add_argument("--jobs", type=int, default=2, help="instants run at once (default 2)")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (after --)")
    args = parser.parse_args(argv)

    now = datetime.now(UTC)
    if args.at:
        instants = [Instant(f"at-{n}", f"{parse_today(v).astimezone(LONDON):%a %d %b %Y %H:%M %Z}",
                            v) for n, v in enumerate(args.at, start=1)]
    else:
        instants = awkward_instants(now)
    if args.only:
        unknown = set(args.only) - {i.name for i in instants}
        if unknown:
            parser.error(f"no instant named {sorted(unknown)}; "
                         f"known: {[i.name for i in instants]}")
        instants = [i for i in instants if i.name in args.only]
    past = [i for i in instants if i.at <= now]
    if past:
        parser.error(f"in the past (the test server's clock only moves forward): "
                     f"{[i.value for i in past]}")
    for i in instants:
        print(f"{i.name:28} {i.value:24} {i.what}")  # noqa: T201
    if args.list:
        return 0

    with tempfile.TemporaryDirectory(prefix="awkward-days-") as tmp, \
            ThreadPoolExecutor(max(1, args.jobs)) as pool:
        outcomes = list(pool.map(lambda i: run_one(i, args.pytest_args, Path(tmp)), instants))
    print("\n" + table(outcomes))  # noqa: T201
    for o in outcomes:
        if not o.ok:
            print(f"\n{o.instant.name} ({o.instant.value}): exit {o.exit_code}")  # noqa: T201
            for test_id in o.failed:
                print(f"  FAILED {test_id}")  # noqa: T201
            if not o.failed:
                print(o.log)  # noqa: T201
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
