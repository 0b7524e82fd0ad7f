"""The timeliness report page: the API's report (api/routes/reports.run: the same scope,
bounds and read record) as charts and tables, and its CSV under the pages' session.

Who may read it is the API route's decision, not this page's: a refusal there is the
readable refusal page here."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlmodel import Session

from api import report as r
from api.deps import get_state
from api.routes.reports import csv_text, run
from models.tables import Staff
from pages.charts import bar_chart, line_chart
from pages.figures import Picture
from pages.routes import _refused, _render, signed_in_or_answer
from pages.session import PageSession

router = APIRouter(prefix="/pages", include_in_schema=False)
MONTH = re.compile(r"\d{4}-\d{2}")
LONDON = ZoneInfo("Europe/London")


def _default_months(now: datetime) -> tuple[str, str]:
    """Without a choice, the twelve months up to this one, in London: the report counts
    transfers by the London month they started in, so at 23:30 on 31 May BST this is June."""
    now = now.astimezone(LONDON)
    first = (now.year - 1, now.month + 1) if now.month < 12 else (now.year, 1)
    return f"{first[0]:04d}-{first[1]:02d}", f"{now.year:04d}-{now.month:02d}"


def _choices(request: Request, staff: Staff) -> tuple[list[str], list[str]]:
    protocol = get_state(request).protocols.get(staff.authority)
    if protocol is None:
        return [], []
    return sorted(protocol.teams), sorted(protocol.pathways)


def by_month(found: r.Report) -> dict[str, r.Cell]:
    """The figures of each month over the teams and pathways shown (medians of the lot)."""
    months: dict[str, r.Cell] = defaultdict(r.Cell)
    for (_, _, month), cell in found.rows.items():
        months[month].add(cell)
    return dict(sorted(months.items()))


def charts(figures: dict[str, dict[str, Any]], total: dict[str, Any]
           ) -> dict[str, Picture | None]:
    """The page's charts; None where there is nothing to draw (the page says so in words)."""
    months = list(figures)
    per_month = {key: [figures[m][key] for m in months] for key in (
        "within_timescale_pct", "median_working_days_to_transfer",
        "median_working_days_to_allocation")}
    disputes = total["disputes"]
    return {
        "within_chart": line_chart(
            "Transfers within timescale by month (%)", months,
            per_month["within_timescale_pct"], unit="%", top=100) if months else None,
        "transfer_chart": bar_chart(
            "Median working days to transfer by month", months,
            per_month["median_working_days_to_transfer"], series=True) if months else None,
        "allocation_chart": bar_chart(
            "Median working days to allocation by month", months,
            per_month["median_working_days_to_allocation"], series=True) if months else None,
        "breach_chart": bar_chart(
            "Breaches by deadline", list(total["breaches"]),
            list(total["breaches"].values())) if total["breaches"] else None,
        "level_chart": bar_chart(
            "Disputes by the ladder level reached",
            [f"Level {k}" for k in disputes["by_level"]],
            list(disputes["by_level"].values())) if disputes["by_level"] else None,
        "outcome_chart": bar_chart(
            "Disputes by how they ended", list(disputes["by_outcome"]),
            list(disputes["by_outcome"].values())) if disputes["count"] else None,
    }


def _read(request: Request, from_: str, to: str, team: str, pathway: str
          ) -> tuple[PageSession, Staff, r.Report | None, dict[str, str], str | None] | Response:
    """The signed-in staff member's report, or the response to give instead."""
    state = get_state(request)
    signed = signed_in_or_answer(request, state)
    if isinstance(signed, Response):
        return signed
    session, staff = signed
    teams, pathways = _choices(request, staff)
    start, end = _default_months(datetime.now(UTC))
    chosen = {"from": from_ or start, "to": to or end,
              "team": team if team in teams else "",
              "pathway": pathway if pathway in pathways else ""}
    error = None
    found = None
    with Session(state.engine) as db:
        try:
            if not (MONTH.fullmatch(chosen["from"]) and MONTH.fullmatch(chosen["to"])):
                raise HTTPException(422, "Enter each month as YYYY-MM, for example 2027-06")
            found, _ = run(db, staff, state, chosen["from"], chosen["to"],
                           chosen["team"] or None, chosen["pathway"] or None)
        except HTTPException as exc:
            if exc.status_code == 403:
                return _refused(request, session, staff, str(exc.detail), 403)
            error = str(exc.detail)
    return session, staff, found, chosen, error


@router.get("/report", response_model=None)
def report_page(request: Request, to: str = "", team: str = "", pathway: str = ""
                ) -> Response:
    # `from` is a keyword: read it from the query string itself.
    got = _read(request, request.query_params.get("from", ""), to, team, pathway)
    if isinstance(got, Response):
        return got
    session, staff, found, chosen, error = got
    teams, pathways = _choices(request, staff)
    context: dict[str, Any] = {"chosen": chosen, "teams": teams, "pathways": pathways,
                                  "error": error, "found": found}
    if found is not None:
        months = by_month(found)
        figures = {m: c.as_json() for m, c in months.items()}
        total = found.total.as_json()
        context |= {
            "months": figures, "total": total,
            "rows": [{"team": t, "pathway": p, "month": m} | c.as_json()
                     for (t, p, m), c in found.rows.items()],
            "csv": "/pages/report.csv?" + urlencode({k: v for k, v in chosen.items() if v}),
        } | charts(figures, total)
    return _render(request, "report.html", 422 if error else 200, session=session,
                   staff=staff, **context)


@router.get("/report.csv", response_model=None)
def report_csv(request: Request, to: str = "", team: str = "",
               pathway: str = "") -> Response:
    got = _read(request, request.query_params.get("from", ""), to, team, pathway)
    if isinstance(got, Response):
        return got
    session, staff, found, chosen, error = got
    if found is None:
        return _refused(request, session, staff, error or "", 422)
    name = f"timeliness-{staff.authority}-{chosen['from']}-to-{chosen['to']}"
    return Response(csv_text(found), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
