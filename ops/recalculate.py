"""Recalculate the deadlines of an authority's running transfers, on purpose and on the record.

    python -m ops.recalculate --authority gateshead --reason "Bank holiday proclaimed" \\
        --by gateshead-sgcp-sm [--calendar-from-protocol] [--pathway-from-protocol] \\
        [--transfer transfer-gateshead-C100234]

A running transfer keeps the calendar and pathway it started with, so editing
`protocols/<authority>.yaml` never moves a deadline behind anybody's back.
When a deadline should move (a bank holiday is proclaimed, a closure day is
added, a timescale in the protocol is corrected), an operator runs this: it
finds the authority's running transfers through Temporal visibility (or takes
the one given with --transfer) and sends each the workflow's `recalculate`
Update, with the protocol file's current calendar and/or pathway if asked.
The reason is kept in the case store (an ActionNote per transfer) and only its
ref reaches Temporal, so history, the event's summary and the emails never carry
the operator's words. The workflow re-plans its pending deadlines (an extended
or paused one is left alone), records a `recalculated` event with the note and
who asked, and
emails both Team Managers when something moved. This prints, per transfer,
each deadline that moved (before → after) and a summary; a transfer that
refuses is reported and the others carry on. Exit status 1 if any refused.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import (
    Client,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError

from api.store_queries import save_note
from config import get_settings
from database import make_engine
from models import search_attributes as sa
from models.protocol import IDENT, Protocol, Role
from models.protocol_files import ProtocolFileError, load_protocol
from models.tables import Staff
from models.transfer import (
    FINAL_STAGES,
    Actor,
    Recalculation,
    TransferView,
)
from temporal_setup import connect
from workflows.case_transfer import CaseTransferWorkflow

QUERY_TIMEOUT = timedelta(seconds=10)
REASON_CHARS = 200


class Result(StrEnum):
    changed = "changed"  # at least one deadline moved
    unchanged = "unchanged"  # recalculated and recorded; nothing moved
    skipped = "skipped"  # the transfer ended after it was listed: no update was sent
    refused = "refused"  # the transfer (or Temporal) said no; see `message`


@dataclass(frozen=True)
class Move:
    deadline: str
    title: str
    before: str
    after: str


@dataclass
class TransferRecalculation:
    """What happened to one transfer."""

    transfer_id: str
    result: Result
    pathway: str = ""
    stage: str = ""
    moves: list[Move] = field(default_factory=list)
    message: str = ""


def running_query(authority: str) -> str:
    return (f"{sa.AUTHORITY.name} = '{authority}' AND ExecutionStatus = 'Running' "
            f"AND WorkflowType = '{CaseTransferWorkflow.__name__}'")


async def running_transfers(client: Client, authority: str) -> list[str]:
    """The ids of the authority's running transfers, as visibility knows them now."""
    return [w.id async for w in client.list_workflows(running_query(authority))]


def moves(before: TransferView, after: TransferView) -> list[Move]:
    earlier = {d.id: d for d in before.deadlines}
    return [Move(d.id, d.title, earlier[d.id].due_local, d.due_local)
            for d in after.deadlines if d.id in earlier and earlier[d.id].due_at != d.due_at]


def refusal(exc: BaseException) -> str:
    if isinstance(exc, WorkflowUpdateFailedError | WorkflowQueryFailedError):
        cause = exc.cause if isinstance(exc, WorkflowUpdateFailedError) else None
        return str(getattr(cause, "message", None) or cause or exc)
    if isinstance(exc, RPCError):
        return f"{exc.status.name}: {exc.message}"
    return str(exc) or type(exc).__name__


async def recalculate_one(client: Client, transfer_id: str, *, authority: str,
                          request: Recalculation, protocol: Protocol, use_pathway: bool,
                          update_id: str, timeout: float) -> TransferRecalculation:
    handle = client.get_workflow_handle_for(CaseTransferWorkflow.run, transfer_id)
    try:
        before: TransferView = await handle.query(CaseTransferWorkflow.view,
                                                  rpc_timeout=QUERY_TIMEOUT)
    except (RPCError, WorkflowQueryFailedError) as exc:
        return TransferRecalculation(transfer_id, Result.refused, message=refusal(exc))
    done = TransferRecalculation(transfer_id, Result.unchanged, pathway=before.pathway,
                                 stage=before.stage.value)
    if before.authority != authority:
        done.result, done.message = Result.refused, f"it belongs to {before.authority}"
        return done
    if before.stage in FINAL_STAGES:  # it ended after visibility listed it
        done.result, done.message = Result.skipped, f"the transfer has ended ({before.stage})"
        return done
    pathway = None
    if use_pathway:
        pathway = protocol.pathways.get(before.pathway)
        if pathway is None:
            done.result = Result.refused
            done.message = f"pathway {before.pathway} is no longer in the protocol file"
            return done
    try:
        after: TransferView = await asyncio.wait_for(handle.execute_update(
            CaseTransferWorkflow.recalculate,
            request.model_copy(update={"pathway": pathway}), id=update_id), timeout)
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        done.result = Result.refused
        done.message = (f"no answer within {timeout:g} s (is a worker running?); the update "
                        f"{update_id} may still complete")
        return done
    except (WorkflowUpdateFailedError, RPCError) as exc:
        done.result, done.message = Result.refused, refusal(exc)
        return done
    done.moves = moves(before, after)
    done.stage = after.stage.value
    done.result = Result.changed if done.moves else Result.unchanged
    return done


def directory_actor(engine: Engine, staff_id: str, authority: str) -> Actor:
    """The staff member named by --by, as the directory knows them (the workflow checks
    their role: a service manager or head of service of a side, or a senior leader)."""
    with Session(engine) as session:
        staff = session.get(Staff, staff_id)
    if staff is None or staff.authority != authority:
        raise ValueError(f"no staff member '{staff_id}' in {authority}'s directory")
    return Actor(staff_id=staff.id, role=Role(staff.role), team=staff.team)


async def recalculate_all(client: Client, engine: Engine, *, authority: str, reason: str,
                          requested_by: Actor,
                          protocol: Protocol, use_calendar: bool, use_pathway: bool,
                          transfer_id: str | None = None, timeout: float = 60.0
                          ) -> list[TransferRecalculation]:
    """Send `recalculate` to each running transfer of `authority` (or to `transfer_id`).

    The reason is kept in the case store (`engine`), one note per transfer, and each
    transfer is sent only the note's ref. The calendar and pathways sent are the ones in
    `protocol` (the authority's file as it is now) when `use_calendar` / `use_pathway`;
    otherwise each transfer keeps its own and only re-resolves its bank holidays. Raises
    ValueError for arguments no transfer could accept.
    """
    if not re.match(IDENT, authority):
        raise ValueError("the authority is not an authority name (lower case, e.g. gateshead)")
    if not reason.strip() or len(reason) > REASON_CHARS:
        raise ValueError(f"reason: say why, in at most {REASON_CHARS} characters")
    if protocol.authority != authority:
        raise ValueError(f"the protocol given is {protocol.authority}'s, not {authority}'s")
    try:
        request = Recalculation(requested_by=requested_by.staff_id, actor=requested_by,
                                calendar=protocol.calendar if use_calendar else None)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ValueError(problems) from exc
    ids = [transfer_id] if transfer_id else await running_transfers(client, authority)
    run = uuid.uuid4().hex[:12]  # one id per transfer per run: a retried call acts once
    results = []
    for tid in ids:
        note_ref = f"{tid}:recalculate:{run}"
        with Session(engine) as session:
            save_note(session, ref=note_ref, transfer_id=tid, staff_id=requested_by.staff_id,
                      text=reason, now=datetime.now(UTC))
        results.append(await recalculate_one(
            client, tid, authority=authority,
            request=request.model_copy(update={"note_ref": note_ref}), protocol=protocol,
            use_pathway=use_pathway, update_id=f"recalculate-{run}-{tid}", timeout=timeout))
    return results


def report(results: Sequence[TransferRecalculation], authority: str) -> list[str]:
    lines = []
    for r in results:
        what = f"{r.transfer_id} ({r.pathway}, {r.stage})" if r.pathway else r.transfer_id
        if r.result is Result.changed:
            lines.append(f"{what}: recalculated")
            lines += [f"    {m.title} [{m.deadline}]: {m.before} → {m.after}" for m in r.moves]
        elif r.result is Result.unchanged:
            lines.append(f"{what}: recalculated, no deadline moved")
        else:
            lines.append(f"{what}: {r.result.value.upper()}: {r.message}")
    counts = {kind: sum(1 for r in results if r.result is kind) for kind in Result}
    lines.append(f"{len(results)} running transfer(s) of {authority}: "
                 + ", ".join(f"{counts[kind]} {kind.value}" for kind in Result))
    return lines


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m ops.recalculate",
        description="Recalculate the deadlines of an authority's running transfers "
                    "(a bank holiday proclaimed, a closure day added, a protocol corrected).")
    p.add_argument("--authority", required=True, help="e.g. gateshead")
    p.add_argument("--reason", required=True,
                   help="why, for the audit trail (at most 200 characters)")
    p.add_argument("--by", required=True, dest="requested_by", metavar="STAFF_ID",
                   help="the staff id of the person asking, for the audit trail")
    p.add_argument("--calendar-from-protocol", action="store_true",
                   help="use the calendar now in the protocol file (e.g. new closure days)")
    p.add_argument("--pathway-from-protocol", action="store_true",
                   help="use each transfer's pathway as now written in the protocol file")
    p.add_argument("--transfer", metavar="TRANSFER_ID",
                   help="only this transfer (e.g. transfer-gateshead-C100234)")
    p.add_argument("--protocols-dir", type=Path, default=None,
                   help="where the protocol files are (default: the configured protocols_dir)")
    p.add_argument("--timeout", type=float, default=60.0,
                   help="seconds to wait for each transfer's answer (default 60)")
    return p


async def run(argv: Sequence[str] | None = None, client: Client | None = None,
              engine: Engine | None = None) -> int:
    args = parser().parse_args(argv)
    settings = get_settings()
    directory: Path = args.protocols_dir or settings.protocols_dir
    try:
        protocol = load_protocol(directory / f"{args.authority}.yaml")
    except FileNotFoundError:
        print(f"no protocol file for {args.authority} in {directory}", file=sys.stderr)
        return 2
    except ProtocolFileError as exc:
        print(f"the protocol file is malformed, so nothing was sent: {exc}", file=sys.stderr)
        return 2
    own_engine = engine is None
    store = engine if engine is not None else make_engine(settings.database_url)
    try:
        asker = directory_actor(store, args.requested_by, args.authority)
    except ValueError as exc:
        if own_engine:
            store.dispose()
        print(f"nothing was sent: {exc}", file=sys.stderr)
        return 2
    if client is None:
        try:
            client = await connect(settings, attempts=5)
        except RuntimeError as exc:
            if own_engine:
                store.dispose()
            print(f"cannot reach Temporal at {settings.temporal_address}: {exc}",
                  file=sys.stderr)
            return 2
    try:
        results = await recalculate_all(
            client, store, authority=args.authority, reason=args.reason,
            requested_by=asker, protocol=protocol,
            use_calendar=args.calendar_from_protocol, use_pathway=args.pathway_from_protocol,
            transfer_id=args.transfer, timeout=args.timeout)
    except ValueError as exc:
        print(f"nothing was sent: {exc}", file=sys.stderr)
        return 2
    except RPCError as exc:  # e.g. the search attributes are not registered (no worker yet)
        print(f"cannot list the running transfers: {refusal(exc)}", file=sys.stderr)
        return 2
    finally:
        if own_engine:
            store.dispose()
    print("\n".join(report(results, args.authority)))
    return 1 if any(r.result is Result.refused for r in results) else 0


def main() -> None:
    sys.exit(asyncio.run(run()))


if __name__ == "__main__":
    main()
