"""Check the audit trail's hash chains: `python -m ops.audit verify [--transfer ID]`.

Reads every run's events in the order they were written and recomputes each hash
(models/audit_chain). Prints what it checked and every break (which transfer, run and seq,
and what differs); exits 1 if any chain is broken, 2 if the store cannot be read. Needs
only SELECT, so it runs as the app's role (DATABASE_URL).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from sqlalchemy import Connection, Engine, Table, select, text
from sqlalchemy.exc import SQLAlchemyError

from config import get_settings
from database import make_engine
from models.audit_chain import Break, check_run
from models.tables import Transfer, TransferEvent

EVENTS: Table = TransferEvent.__table__  # type: ignore[attr-defined]
CURRENT: Table = Transfer.__table__  # type: ignore[attr-defined]


@dataclass
class Checked:
    transfers: set[str] = field(default_factory=set)
    runs: int = 0
    events: int = 0
    breaks: list[Break] = field(default_factory=list)
    # PostgreSQL: what the signed-in role could do to the trail beyond reading and adding
    trail_privileges: list[str] = field(default_factory=list)


def _events(conn: Connection, transfer_id: str | None) -> Iterator[Any]:
    query = select(EVENTS).order_by(EVENTS.c.run_id, EVENTS.c.id)
    if transfer_id is not None:
        query = query.where(EVENTS.c.transfer_id == transfer_id)
    yield from conn.execution_options(yield_per=2000).execute(query).mappings()


def verify(engine: Engine, transfer_id: str | None = None) -> Checked:
    """Check every run's chain (or one transfer's runs)."""
    checked = Checked()
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            checked.trail_privileges = [
                p for p in ("UPDATE", "DELETE", "TRUNCATE") if conn.execute(
                    text("SELECT has_table_privilege(current_user, 'transferevent', :p)"),
                    {"p": p}).scalar()]
        recorded_query = select(CURRENT.c.run_id, CURRENT.c.seq)
        if transfer_id is not None:
            recorded_query = recorded_query.where(CURRENT.c.transfer_id == transfer_id)
        recorded: dict[str, int] = {r.run_id: r.seq for r in conn.execute(recorded_query)}
        seen: set[str] = set()
        for run_id, rows in groupby(_events(conn, transfer_id), key=lambda r: r["run_id"]):
            events = list(rows)
            seen.add(run_id)
            checked.runs += 1
            checked.events += len(events)
            checked.transfers.add(events[0]["transfer_id"])
            checked.breaks += check_run(events, recorded_seq=recorded.get(run_id))
        # A run whose current row exists but whose every event is gone.
        for run_id in sorted(set(recorded) - seen):
            row = conn.execute(select(CURRENT.c.transfer_id)
                               .where(CURRENT.c.run_id == run_id)).scalar_one()
            checked.transfers.add(row)
            checked.runs += 1
            checked.breaks.append(Break(row, run_id, None, (
                f"the transfer's current row was written by seq {recorded[run_id]}, "
                "but the trail holds no events for this run")))
    return checked


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ops.audit",
                                description="Check the audit trail's hash chains.")
    commands = p.add_subparsers(dest="command", required=True)
    check = commands.add_parser("verify", help="recompute every event's hash and check "
                                               "each run's chain")
    check.add_argument("--transfer", metavar="TRANSFER_ID",
                       help="only this transfer's runs (e.g. transfer-gateshead-C100234)")
    return p


def run(argv: Sequence[str] | None = None, engine: Engine | None = None) -> int:
    args = parser().parse_args(argv)
    own = engine is None
    engine = engine or make_engine(get_settings().database_url)
    try:
        checked = verify(engine, args.transfer)
    except SQLAlchemyError as exc:
        print(f"cannot read the case store: {type(exc).__name__}", file=sys.stderr)
        return 2
    finally:
        if own:
            engine.dispose()
    scope = f"transfer {args.transfer}" if args.transfer else "all transfers"
    print(f"checked {scope}: {len(checked.transfers)} transfer(s), {checked.runs} run(s), "
          f"{checked.events} event(s)")
    if args.transfer and not checked.runs:
        print(f"no events or current row found for {args.transfer}")
    if checked.trail_privileges:
        print(f"note: the role signed in may {', '.join(checked.trail_privileges)} the trail: "
              "run the app as APP_DATABASE_ROLE, not as the schema's owner")
    for found in checked.breaks:
        print(f"BROKEN {found}")
    if checked.breaks:
        print(f"{len(checked.breaks)} break(s) found: the trail was changed outside the app")
        return 1
    print("every chain holds")
    return 0


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
