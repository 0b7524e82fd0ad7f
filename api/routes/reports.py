"""The timeliness report (api/report): for authority-level roles, and for a Head of
Service listed under a service, over that service's teams."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status
from sqlmodel import Session

from api import report
from api import store_queries as q
from api.authority_level import authority_level_titles, is_authority_level
from api.deps import AppState, SessionDep, StaffDep, StateDep
from api.errors import EVERY_ROUTE, error_responses
from models.protocol import Calendar, Role
from models.tables import Staff
from models.transfer import IDENTIFIER

router = APIRouter(prefix="/reports", tags=["reports"], responses=EVERY_ROUTE)
MONTH = r"^\d{4}-\d{2}$"


def _month(value: str, name: str) -> date:
    match = re.fullmatch(r"(\d{4})-(\d{2})", value)
    if match is None or not 1 <= int(match[2]) <= 12:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"{name} must be a month as YYYY-MM (e.g. 2027-06), not {value}")
    if int(match[1]) < 2000:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"{name} must be 2000-01 or later, not {value}")
    return date(int(match[1]), int(match[2]), 1)


def _scope(state: StateDep, staff: Staff) -> frozenset[str] | None:
    """None: the whole authority. A Head of Service listed under a service (not the
    authority team) reads the transfers its service's teams send or receive."""
    if is_authority_level(staff):
        return None
    protocol = state.protocols.get(staff.authority)
    service = protocol.services.get(staff.team) if protocol is not None else None
    if staff.role == Role.head_of_service and service is not None:
        return frozenset(service.teams)
    raise HTTPException(status.HTTP_403_FORBIDDEN, (
        "The timeliness report is for the authority's "
        f"{authority_level_titles()} (authority team), or a Head of Service for their "
        f"service's teams; you are {staff.role} of {staff.team}"))


def run(session: Session, staff: Staff, state: AppState, from_: str, to: str,
        team: str | None, pathway: str | None) -> tuple[report.Report, frozenset[str] | None]:
    """The report for `staff` (their scope; bounds checked), the read recorded, refused or
    not: the API route and the report page (pages/report) both answer through this."""
    now = datetime.now(UTC)
    try:
        teams = _scope(state, staff)
    except HTTPException:
        q.record_read(session, staff=staff, what="report", transfer_id=None, now=now,
                      refused=True)
        raise
    first, last = _month(from_, "from"), _month(to, "to")
    if last < first:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"to ({to}) must not be before from ({from_})")
    if report.months_between(first, last) > report.MAX_MONTHS:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"A report covers at most {report.MAX_MONTHS} months; "
                            f"{from_} to {to} is {report.months_between(first, last)}")
    protocol = state.protocols.get(staff.authority)
    calendar = protocol.calendar if protocol is not None else Calendar()
    found = report.timeliness(session, report.Query(
        authority=staff.authority, first=first, last=last, team=team, pathway=pathway,
        teams=teams), calendar)
    q.record_read(session, staff=staff, what="report", transfer_id=None, now=now)
    return found, teams


def csv_text(found: report.Report) -> str:
    header, rows = report.csv_rows(found)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


@router.get("/timeliness", responses=error_responses(403, 422) | {
    200: {"description": "JSON, or (format=csv) one row per team, pathway and month",
          "content": {"application/json": {}, "text/csv": {}}}})
def timeliness(
    session: SessionDep, staff: StaffDep, state: StateDep,
    from_: Annotated[str, Query(alias="from", pattern=MONTH,
                                description="The first month, YYYY-MM (London time)")],
    to: Annotated[str, Query(pattern=MONTH, description="The last month, YYYY-MM")],
    team: Annotated[str | None, Query(pattern=IDENTIFIER,
                                      description="Only this sending team")] = None,
    pathway: Annotated[str | None, Query(pattern=IDENTIFIER,
                                         description="Only this pathway")] = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Response:
    """Transfers within timescale, median working days to transfer and to allocation,
    breaches by deadline and disputes by ladder level and ending, per sending team,
    pathway and month of the transfer's start (London time), at most 24 months.

    The definitions are in the README (Timeliness report). Each read is recorded."""
    found, teams = run(session, staff, state, from_, to, team, pathway)
    name = f"timeliness-{staff.authority}-{from_}-to-{to}"
    if format == "csv":
        return Response(csv_text(found), media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    body = {
        "authority": staff.authority, "from": from_, "to": to, "team": team,
        "pathway": pathway, "scope": sorted(teams) if teams is not None else "authority",
        "total": found.total.as_json(),
        "rows": [{"team": t, "pathway": p, "month": m} | cell.as_json()
                 for (t, p, m), cell in found.rows.items()],
    }
    return Response(json.dumps(body), media_type="application/json")
