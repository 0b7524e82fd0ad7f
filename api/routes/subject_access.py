"""Subject access: everything held about a case or a child, for authority-level roles."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Response, status

from api import subject_access as sar
from api.authority_level import authority_level_titles, is_authority_level
from api.deps import SessionDep, StaffDep
from api.errors import EVERY_ROUTE, error_responses
from models.transfer import IDENTIFIER

log = logging.getLogger(__name__)
router = APIRouter(prefix="/subject-access", tags=["subject access"], responses=EVERY_ROUTE)


@router.get(
    "/cases/{case_id}", responses=error_responses(403) | {
        200: {"description": "JSON, or (format=csv) a zip of one CSV per part",
              "content": {"application/json": {}, "application/zip": {}}}})
def export_subject(
    session: SessionDep, staff: StaffDep,
    case_id: Annotated[str, Path(pattern=IDENTIFIER,
                                 description="A case id, or a child's id")],
    format: Annotated[Literal["json", "csv"], Query(
        description="json: one document; csv: a zip of transfers.csv, events.csv, "
                    "notes.csv, notifications.csv and start_keys.csv")] = "json",
) -> Response:
    """Everything your authority's case store holds about a case or a child: each transfer
    (every run) whose case id or children include it, their audit trails, the notes given
    with their actions, the emails sent about them and the keys used to start them.

    For authority-level roles only. Each export is itself recorded (who, about whom, when)."""
    if not is_authority_level(staff):
        raise HTTPException(status.HTTP_403_FORBIDDEN, (
            "Subject access exports are for the authority's "
            f"{authority_level_titles()} (authority team); you are {staff.role} of "
            f"{staff.team}"))
    now = datetime.now(UTC)
    holding = sar.collect(session, staff.authority, case_id)
    export_id = sar.record(session, holding, staff_id=staff.id, form=format, now=now)
    log.info("subject access export %s recorded", export_id)
    header = {"export_id": export_id, "subject_id": case_id, "authority": staff.authority,
              "exported_at": now.isoformat(), "exported_by": staff.id,
              "counts": holding.counts()}
    name = f"subject-access-{staff.authority}-{case_id}-{now:%Y%m%dT%H%M%SZ}"
    if format == "csv":
        return Response(sar.as_zip(holding, header), media_type="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="{name}.zip"'})
    return Response(sar.as_json(holding, header), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}.json"'})
