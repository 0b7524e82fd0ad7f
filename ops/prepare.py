"""Prepare the case store before the system starts: migrate, seed the demo directory (or, in
production, warn of demo rows left in it), say how.

`python -m ops.prepare` (run by `make dev` before the processes start, and by
the `migrate` service in docker-compose).
"""

from __future__ import annotations

from config import Settings, get_settings
from database import make_engine, migrate
from models.protocol_files import load_protocols
from ops.demo import demo_staff, seed_demo_directory
from ops.staff.guard import DemoStaffInProduction, refuse_demo_staff
from payload_codec import keys_from_settings

BANNER = """
Case transfers: development system
  Managers' pages            http://localhost:8000/pages  (sign in with the local identity
                             provider as any demo member below, without `demo-`;
                             or choose one from the list: development only)
  API and its OpenAPI docs   http://localhost:8000/docs
  Temporal Web UI            http://localhost:8233  (payloads encrypted: .data/payload-key;
                             the UI decodes them through POST /codec/decode, as the
                             development operator gateshead-director; each decode recorded)
  Emails sent                GET http://localhost:8000/notifications  (and .data/mailbox/)

Act as a demo manager with  -H 'Authorization: Bearer <token>'  (or Authorize in /docs).
Gateshead's demo staff:
{staff}
Every authority ({authorities}) has the same: demo-<authority>-<team>-<tm|sw|sm|sp|ap|pa>,
demo-<authority>-<hos-1|hos-2|sad|director|iro|legal|da|bs|chair> and, where its protocol
groups teams into services, demo-<authority>-<service>-hos.

Start a transfer as the SGCP Team Manager:
  curl -s -X POST localhost:8000/transfers -H 'Authorization: Bearer demo-gateshead-sgcp-tm' \\
       -H 'Content-Type: application/json' \\
       -d '{{"authority": "gateshead", "pathway": "sgcp-to-lac", "case_id": "C100234"}}'
Or sign in through the local identity provider, as anyone above without `demo-`:
  curl -s localhost:8000/transfers \\
       -H "Authorization: Bearer $(.venv/bin/python -m ops.token gateshead-sgcp-tm)"
The README's tour takes it from there. Ctrl-C stops everything; transfers are kept in .data/.
"""


def main() -> None:
    settings = get_settings()
    protocols = load_protocols(settings.protocols_dir)  # refuse to start on a malformed file
    # Made here, once, before the worker and the API start together and would race to make it.
    keys_from_settings(settings)
    # As the schema's owner: the app's own role may not change the schema (or the trail).
    migrate(settings.owner_database_url, settings.app_database_role)
    if settings.environment != "development":
        _check_production(settings)
        return
    engine = make_engine(settings.owner_database_url)
    seed_demo_directory(engine, protocols)
    engine.dispose()
    tour = protocols.get("gateshead")
    # The tour's people: each team's Team Manager and social worker, and the authority's roles.
    shown = [p for p in (demo_staff(tour) if tour else [])
             if p.team == "authority" or p.role in ("team_manager", "social_worker",
                                                    "service_manager")]
    staff = "\n".join(f"  {p.token:<30} {p.display_name}" for p in shown)
    print(BANNER.format(staff=staff, authorities=", ".join(sorted(protocols))))


def _check_production(settings: Settings) -> None:
    """Say now what would stop the API and the worker from starting, and how to fix it."""
    engine = make_engine(settings.database_url)
    try:
        refuse_demo_staff(settings, engine)
    except DemoStaffInProduction as exc:
        print(exc)
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
