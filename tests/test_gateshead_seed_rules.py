"""Seed 000 (Gateshead) rules put right or newly encoded in issue 8, each with a happy and a
breach or refusal path, through `tests.scenario.Scenario` (it acts as the API does).

SGCP -> LAC has no acceptance by the LAC Team Manager: the case moves on the agreed date once
the SGCP requirements are in place; the LAC team's disagreement is a dispute, raised by either
Team Manager. The transfer meeting has the 10 working days' clock of the transfer. The Service
Manager is emailed once when the case has not moved in 10 working days with the requirements
met, at the breach or later, when they are met while it is still held up.

Every date comes from the time-skipping server's present (the suite holds on any day it runs):
a scene is the next stretch of calendar with a known shape -- a Christmas on a Friday (Boxing
Day's substitute on the Monday 28th, New Year on a Friday), an Easter early enough that the May
bank holiday is weeks away, a Monday in June with no bank holiday or clock change near -- and
each due date is counted by hand within it.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from models.transfer import DeadlineStatus, Stage, TransferView
from tests.identity_provider import AUDIENCE
from tests.scenario import PROTOCOLS, Scenario, deadline, expect_mail, inbox, settled
from tests.seed_scenes import MINUTE, at, at_17, christmas_on_a_friday, early_easter, june_monday
from tests.transfers import api_on, events, skip_to

G = "gateshead"
CHECKLIST = ["chronology_up_to_date", "recording_up_to_date", "relationships_up_to_date",
             "genogram_current", "observations_up_to_date", "assessments_up_to_date"]
AUDIT = ["chronology_up_to_date", "recording_up_to_date", "relationships_up_to_date",
         "genogram_current"]
CIN_AUDIT = [*AUDIT, "transition_point_identified", "sw_visits_up_to_date",
             "observations_up_to_date"]
CLOSURE = ["closure_summary_added", "case_recording_up_to_date", "chronology_up_to_date"]

STARTED = "transfer proposed to your team"
TRANSFER_MISSED = "deadline missed: Transfer within 10 working days of the TM discussion"
MEETING_MISSED = "deadline missed: Transfer meeting within 10 working days of the TM discussion"
LADDER = "Disagreement about the transfer"
REFERRED = f"dispute referred to you: {LADDER}"
NOT_RESOLVED = f"dispute not resolved within 5 working days: {LADDER}"


async def opened(ts_env: Any, worker: Any, pathway: str, anchor: datetime, *,
                 case_id: str = "C1", by: str | None = None) -> tuple[Scenario, TransferView]:
    await skip_to(ts_env, anchor)
    s = Scenario(ts_env.client, worker, G, pathway)
    return s, await s.open(anchor, case_id=case_id, by=by)


async def sgcp_requirements(s: Scenario, legal: str = "record-care-order",
                            iro: bool = True) -> TransferView:
    """The SGCP side's requirements: the legal status, the summary, the audit, the IRO."""
    await s.act(legal, "sgcp-tm")
    await s.act("authorise-summary", "sgcp-tm")
    view = await s.act("complete-checklist", "sgcp-tm", items=CHECKLIST)
    return await s.act("inform-iro", "sgcp-sw", note="IRO told") if iro else view


def kinds(engine: Any, view: TransferView) -> list[str]:
    return [e.kind for e in events(engine, view.run_id)]


# ----- SGCP -> LAC: the agreed date, without an acceptance -------------------------------------

async def test_sgcp_to_lac_moves_on_the_agreed_date_over_christmas_without_an_acceptance(
        ts_env, worker, mailbox):
    christmas = christmas_on_a_friday(await ts_env.get_current_time())
    # TM discussion Fri 18 Dec. Ten working days: Mon 21, Tue 22, Wed 23, Thu 24 (1-4); Fri 25
    # and Mon 28 (Boxing Day's substitute) are bank holidays; Tue 29, Wed 30, Thu 31 (5-7);
    # Fri 1 Jan is New Year's Day; Mon 4, Tue 5, Wed 6 Jan (8-10).
    s, view = await opened(ts_env, worker, "sgcp-to-lac", at(christmas - timedelta(days=7), 10))
    due = at_17(christmas + timedelta(days=12))
    assert deadline(view, "transfer_by").due_at == due
    assert deadline(view, "transfer_by").due_local.endswith("17:00 GMT")
    assert deadline(view, "meeting_by").due_at == due  # the meeting: in the same 10 days
    assert view.transfer_date == due  # the default agreed date: the 10th working day
    kind, words = await s.refused("accept", "lac-tm")
    assert kind == "InvalidInput" and "'accept' is not an action" in words
    kind, _ = await s.refused("request-transfer", "lac-tm", items=[
        "request_form_completed", "next_care_team_meeting_date_in_assessment"])
    assert kind == "NotPermitted"  # step 1 is the SGCP social worker's
    await s.act("request-transfer", "sgcp-sw", items=[
        "request_form_completed", "next_care_team_meeting_date_in_assessment"])
    view = await sgcp_requirements(s)
    assert (view.stage, view.responsible_team) == (Stage.ready, "sgcp")

    await skip_to(ts_env, at(christmas - timedelta(days=3), 11))  # Tue 22 Dec
    view = await s.act("record-meeting", "lac-sw",
                       attendees=["child", "lac_social_worker", "sgcp_social_worker"])
    assert deadline(view, "meeting_by").status is DeadlineStatus.met
    await skip_to(ts_env, due - MINUTE)
    assert (await s.view()).stage is Stage.ready
    await skip_to(ts_env, due + MINUTE)
    view = await settled(s, lambda v: v.stage is Stage.transferred)
    assert view.responsible_team == "lac" and view.transferred_at is not None
    assert timedelta(0) <= view.transferred_at - due < timedelta(seconds=1)
    view = await s.act("allocate", "lac-tm", worker_id="W1")
    assert deadline(view, "later_life_letters").due_at == \
        at_17(christmas + timedelta(days=12 + 42))
    await expect_mail(mailbox, G, {"lac-tm": [STARTED, "case transferred to lac"],
                                   "sgcp-tm": ["case transferred to lac", "worker W1 allocated"]})


async def test_sgcp_to_lac_meeting_missed_over_easter_the_case_still_moves(
        ts_env, worker, directory_engine, mailbox):
    sunday = early_easter(await ts_env.get_current_time())
    # TM discussion on Maundy Thursday. Good Friday and Easter Monday are bank holidays: the
    # 10th working day is the Monday two weeks after Easter Monday (after the clocks change).
    s, view = await opened(ts_env, worker, "sgcp-to-lac", at(sunday - timedelta(days=3), 10))
    due = at_17(sunday + timedelta(days=15))
    assert deadline(view, "meeting_by").due_at == due == view.transfer_date
    assert deadline(view, "meeting_by").due_local.endswith("17:00 BST")
    await sgcp_requirements(s)
    await skip_to(ts_env, due - MINUTE)
    view = await s.view()
    assert deadline(view, "meeting_by").status is DeadlineStatus.pending
    await skip_to(ts_env, due + MINUTE)
    view = await settled(s, lambda v: v.stage is Stage.transferred
                         and deadline(v, "meeting_by").status is DeadlineStatus.missed)
    assert deadline(view, "transfer_by").status is DeadlineStatus.met
    transferred = next(e for e in events(directory_engine, view.run_id)
                       if e.kind == "transferred")
    assert "on the agreed date" in transferred.summary
    assert "Transfer meeting with the child" in transferred.summary
    # Both Team Managers hear the meeting did not happen; the Service Manager nothing.
    await expect_mail(mailbox, G, {
        "lac-tm": [STARTED, MEETING_MISSED, "case transferred to lac"],
        "sgcp-tm": [MEETING_MISSED, "case transferred to lac"]})


# ----- SGCP -> LAC: a dispute holds it; the Service Manager is emailed once --------------------

async def test_a_dispute_past_day_10_with_the_requirements_met_emails_the_sm_once(
        ts_env, worker, directory_engine, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, view = await opened(ts_env, worker, "sgcp-to-lac", at(monday, 9))
    view = await sgcp_requirements(s)
    assert view.stage is Stage.ready
    await skip_to(ts_env, at(monday + timedelta(days=2), 10))  # Wednesday
    kind, _ = await s.refused("raise-dispute", "lac-sw", note="x")
    assert kind == "NotPermitted"  # a Team Manager's
    kind, words = await s.refused("raise-dispute", "lac-tm")
    assert kind == "InvalidInput" and "Say why" in words
    view = await s.act("raise-dispute", "lac-tm", note="Placement plan not settled")
    assert (view.stage, view.responsible_team) == (Stage.disputed, "sgcp")
    assert view.dispute is not None
    # The Team Managers have 5 working days: to the Wednesday after, 17:00 BST.
    assert view.dispute.level_due_at == at_17(monday + timedelta(days=9))
    await skip_to(ts_env, at_17(monday + timedelta(days=9)) + MINUTE)
    await settled(s, lambda v: v.dispute is not None and v.dispute.level_due_at is None)

    due = at_17(monday + timedelta(days=14))  # the 10th working day: Monday two weeks on
    assert view.transfer_date == due
    await skip_to(ts_env, due - MINUTE)
    assert inbox(mailbox, G, "sgcp-sm") == [NOT_RESOLVED]
    await skip_to(ts_env, due + MINUTE)
    view = await settled(s, lambda v: deadline(v, "transfer_by").status
                         is DeadlineStatus.missed)
    assert (view.stage, view.responsible_team) == (Stage.disputed, "sgcp")  # not moved
    await skip_to(ts_env, at(monday + timedelta(days=16), 10))
    view = await s.act("resolve-dispute", "sgcp-sm", resolution="proceed",
                       note="LAC takes the case")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "lac")
    kind, _ = await s.refused("raise-dispute", "sgcp-tm", note="too late")
    assert kind == "WrongStage"
    resolved = "dispute resolved: proceed"
    await expect_mail(mailbox, G, {
        "lac-tm": [STARTED, REFERRED, MEETING_MISSED, TRANSFER_MISSED, resolved,
                   "case transferred to lac"],
        "sgcp-tm": [REFERRED, MEETING_MISSED, TRANSFER_MISSED, resolved,
                    "case transferred to lac"],
        "sgcp-sm": [NOT_RESOLVED, TRANSFER_MISSED],  # the deadline's email: once
        "lac-sm": [NOT_RESOLVED]})
    assert kinds(directory_engine, view).count("deadline_missed_requirements_met") == 0


async def test_requirements_met_after_day_10_while_disputed_email_the_sm_then(
        ts_env, worker, directory_engine, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, "sgcp-to-lac", at(monday, 9))
    await sgcp_requirements(s, iro=False)  # the IRO not yet told
    await skip_to(ts_env, at(monday + timedelta(days=1), 10))
    await s.act("raise-dispute", "sgcp-tm", note="LAC has not confirmed the worker")
    due = at_17(monday + timedelta(days=14))
    await skip_to(ts_env, due + MINUTE)
    await settled(s, lambda v: deadline(v, "transfer_by").status is DeadlineStatus.missed)
    # At the breach the requirements were not all met: no email to the Service Manager.
    await expect_mail(mailbox, G, {
        "lac-tm": [STARTED, REFERRED, MEETING_MISSED, TRANSFER_MISSED],
        "sgcp-tm": [REFERRED, MEETING_MISSED, TRANSFER_MISSED],
        "sgcp-sm": [NOT_RESOLVED], "lac-sm": [NOT_RESOLVED]})

    await skip_to(ts_env, at(monday + timedelta(days=15), 10))
    view = await s.act("inform-iro", "sgcp-sw", note="IRO told")
    assert view.stage is Stage.disputed  # still held up
    await expect_mail(mailbox, G, {
        "lac-tm": [STARTED, REFERRED, MEETING_MISSED, TRANSFER_MISSED],
        "sgcp-tm": [REFERRED, MEETING_MISSED, TRANSFER_MISSED],
        "sgcp-sm": [NOT_RESOLVED, TRANSFER_MISSED], "lac-sm": [NOT_RESOLVED]})
    view = await s.act("resolve-dispute", "lac-sm", resolution="proceed", note="Agreed")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "lac")
    resolved = "dispute resolved: proceed"
    await expect_mail(mailbox, G, {
        "lac-tm": [STARTED, REFERRED, MEETING_MISSED, TRANSFER_MISSED, resolved,
                   "case transferred to lac"],
        "sgcp-tm": [REFERRED, MEETING_MISSED, TRANSFER_MISSED, resolved,
                    "case transferred to lac"],
        "sgcp-sm": [NOT_RESOLVED, TRANSFER_MISSED], "lac-sm": [NOT_RESOLVED]})
    assert kinds(directory_engine, view).count("deadline_missed_requirements_met") == 1


# ----- SGCP -> LAC: the child's legal status ----------------------------------------------------

async def test_a_section_20_case_waits_for_the_legal_gateway(ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, "sgcp-to-lac", at(monday, 9))
    kind, words = await s.refused("record-legal-gateway", "sgcp-tm")
    assert kind == "WrongStage" and "only after" in words  # the legal status first
    view = await sgcp_requirements(s, legal="record-section-20")
    assert view.stage is Stage.proposed  # no legal gateway conclusion yet
    gateway = s.pathway.gates["legal_gateway"].title
    assert any(w.startswith(gateway) for w in view.waiting_for)
    kind, _ = await s.refused("record-legal-gateway", "lac-tm")
    assert kind == "NotPermitted"
    view = await s.act("record-legal-gateway", "sgcp-tm")
    assert view.stage is Stage.ready

    other, _ = await opened(ts_env, worker, "sgcp-to-lac", at(monday, 10), case_id="C2")
    view = await sgcp_requirements(other)  # a Care Order: no legal gateway needed
    assert view.stage is Stage.ready
    assert next(g for g in view.gates if g.id == "legal_gateway").not_needed
    kind, words = await other.refused("record-legal-gateway", "sgcp-tm")
    assert kind == "WrongStage" and "is not needed" in words


# ----- SGCP -> A&I: the summary's audit, and the new CiN plan on file ---------------------------

async def test_sgcp_to_a_and_i_audit_and_the_new_cin_plan_on_file(ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, "sgcp-to-a-and-i", at(monday, 9))
    await s.act("sign-off-cin-plan", "sgcp-tm", items=["cin_assessment_complete",
                                                       "revised_cin_plan_complete",
                                                       "open_cin_plan_updated"])
    kind, words = await s.refused("authorise-summary", "sgcp-tm", items=AUDIT, note="CiN")
    assert kind == "InvalidInput" and ("Not confirmed: transition_point_identified, "
                                       "sw_visits_up_to_date, observations_up_to_date") in words
    await s.act("authorise-summary", "sgcp-tm", items=CIN_AUDIT, note="CP plan ended")
    await s.act("book-cin-review", "sgcp-sw", date=monday + timedelta(days=3))
    await s.act("identify-worker", "a_and_i-tm")
    kind, _ = await s.refused("add-cin-plan-to-file", "sgcp-sw")
    assert kind == "WrongStage"  # after the review, when the case has moved
    await skip_to(ts_env, at(monday + timedelta(days=3), 10))
    view = await s.act("record-cin-review", "sgcp-tm", attendees=[
        "child", "family", "sgcp_social_worker", "a_and_i_social_worker", "chair"])
    assert (view.stage, view.responsible_team) == (Stage.transferred, "a_and_i")
    await s.act("allocate", "a_and_i-tm", worker_id="AI1")
    await s.act("add-cin-review-minutes", "sgcp-tm")
    view = await s.act("complete-tm-audit", "sgcp-tm")
    plan = s.pathway.after_transfer["cin_plan_on_file"].title
    assert view.stage is Stage.allocated  # the plan is not on file yet
    assert f"{plan} (outstanding, no timescale)" in view.waiting_for
    kind, _ = await s.refused("add-cin-plan-to-file", "a_and_i-tm")
    assert kind == "NotPermitted"  # SGCP's social worker or Team Manager
    view = await s.act("add-cin-plan-to-file", "sgcp-sw")
    assert view.stage is Stage.closed


# ----- Early Help -> IRT: the closure summary's audit, and the EH worker's role -----------------

async def test_escalation_audit_and_the_eh_workers_role(ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, "early-help-to-irt", at(monday, 9))
    await s.act("agree-threshold", "irt-tm")
    await s.act("add-referral", "early_help-sw")
    kind, words = await s.refused("add-closure-summary", "early_help-sw", items=CLOSURE)
    assert kind == "InvalidInput" and \
        "Not confirmed: relationships_up_to_date, genogram_current" in words
    await s.act("add-closure-summary", "early_help-sw",
                items=[*CLOSURE, "relationships_up_to_date", "genogram_current"])
    view = await s.act("authorise-closure-summary", "early_help-tm")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "irt")
    view = await s.act("allocate", "irt-tm", worker_id="IRT1")
    assert view.stage is Stage.allocated  # the EH worker's role is still to be agreed
    kind, _ = await s.refused("record-eh-role", "irt-tm", note="none")
    assert kind == "NotPermitted"
    view = await s.act("record-eh-role", "early_help-sw", note="No role: A&I leads")
    assert view.stage is Stage.closed


# ----- Early Help -> Tier 3: not accepted is no dispute ------------------------------------------

async def test_tier3_not_accepting_is_the_eh_managers_decision_not_a_dispute(
        ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, "early-help-return-to-sgcp", at(monday, 9))
    await s.act("confirm-previous-involvement", "early_help-tm")
    view = await s.act("not-accept", "sgcp-tm", note="Tier 3 threshold not met")
    assert (view.stage, view.dispute) == (Stage.proposed, None)
    await skip_to(ts_env, at_17(monday + timedelta(days=7)) + MINUTE)  # past any ladder time
    kind, _ = await s.refused("withdraw", "sgcp-tm", note="x")
    assert kind == "NotPermitted"  # the EH Manager's decision
    view = await s.act("withdraw", "early_help-tm", note="Next steps: safety planning")
    assert (view.stage, view.responsible_team) == (Stage.withdrawn, "early_help")
    threshold = s.pathway.gates["threshold"].title
    await expect_mail(mailbox, G, {"sgcp-tm": [STARTED, "transfer withdrawn"],
                                   "early_help-tm": [f"{threshold}: not_accepted"]})


# ----- The README's five-minute tour, step by step ------------------------------------------------

@pytest.mark.parametrize("sign_in", ["demo tokens", "the identity provider"])
async def test_the_readme_tour_works_step_by_step(ts_env, worker, directory_engine, sign_in,
                                                  request):
    provider = request.getfixturevalue("idp") if sign_in == "the identity provider" else None
    settings = ({"oidc_issuer": provider.issuer, "oidc_audience": AUDIENCE}
                if provider else {})

    def token(who: str) -> dict[str, str]:
        if provider:  # as `python -m ops.token gateshead-<who>` prints it
            return {"Authorization": f"Bearer {provider.token(f'gateshead-{who}', AUDIENCE)}"}
        return {"Authorization": f"Bearer demo-gateshead-{who}"}

    tid = "/transfers/transfer-gateshead-C100234"
    now = await ts_env.get_current_time()
    async with api_on(directory_engine, ts_env, worker, **settings) as api:

        async def post(who: str, path: str, key: str | None = None,
                       **body: Any) -> httpx.Response:
            headers = {**token(who), **({"Idempotency-Key": key} if key else {})}
            return await api.post(path, json=body or None, headers=headers)

        async def mail(who: str, count: int | None = None) -> list[str]:
            """The subjects emailed to `who`, read by them (once there are `count`)."""
            for _ in range(300):
                got = await api.get("/notifications", headers=token(who))
                subjects = [n["subject"] for n in got.json()]
                if count is None or len(subjects) >= count:
                    return subjects
                await asyncio.sleep(0.05)
            raise AssertionError(f"{who} got {subjects}")

        started = await post("sgcp-tm", "/transfers", "start-C100234", authority=G,
                             pathway="sgcp-to-lac", case_id="C100234", children=["C100234"],
                             anchor_at=(now - timedelta(days=21)).isoformat())
        assert started.status_code == 201, started.text
        overdue = await api.get("/transfers", params={"team": "lac", "overdue": "true"},
                                headers=token("lac-tm"))
        assert overdue.json()["count"] == 1
        # Started, and both deadlines missed at once (the transfer's and the meeting's).
        lac_tm = await mail("lac-tm", count=3)
        assert len([s for s in lac_tm if "deadline missed" in s]) == 2
        assert (await post("sgcp-tm", f"{tid}/actions/authorise-summary", "a1")
                ).status_code == 200
        assert (await post("sgcp-tm", f"{tid}/actions/complete-checklist", "a2",
                           items=CHECKLIST)).status_code == 200
        assert (await post("sgcp-sw", f"{tid}/actions/inform-iro", "a3",
                           note="IRO told by phone")).status_code == 200
        # The summary, the audit and the IRO: the Service Manager hears, the case not moved.
        sm = await mail("sgcp-sm", count=1)
        assert len(sm) == 1 and TRANSFER_MISSED in sm[0]
        assert (await post("lac-tm", f"{tid}/actions/record-care-order")).status_code == 403
        assert (await post("lac-tm", f"{tid}/actions/allocate", worker_id="W1")
                ).status_code == 409
        assert (await post("lac-sw", f"{tid}/actions/record-meeting", attendees=["nobody"])
                ).status_code == 422
        moved = await post("sgcp-tm", f"{tid}/actions/record-care-order", "a4")
        assert (moved.json()["stage"], moved.json()["responsible_team"]) == (
            "transferred", "lac")
        allocated = await post("lac-tm", f"{tid}/actions/allocate", "a5", worker_id="W1")
        assert allocated.json()["stage"] == "allocated"
        trail = (await api.get(f"{tid}/events", headers=token("lac-tm"))).json()
        assert [e["kind"] for e in trail][-2:] == ["transferred", "allocated"]
        assert len(await mail("sgcp-sm")) == 1
        everyone = await api.get("/notifications", params={"recipient": "*"},
                                 headers=token("hos-1"))
        assert {n["recipient_id"] for n in everyone.json()} >= {
            "gateshead-lac-tm", "gateshead-sgcp-sm"}
        assert (await api.get(tid, headers=token("cwd-tm"))).status_code == 404


def test_the_flagship_pathway_has_no_acceptance_step() -> None:
    pathway = PROTOCOLS[G].pathways["sgcp-to-lac"]
    assert "accepted" not in pathway.gates and "accept" not in pathway.actions()
    assert pathway.transfer.when == "agreed_date"
    assert pathway.transfer.requires == ["legal_status", "legal_gateway", "summary_authorised",
                                         "checklist", "iro_informed"]
    assert pathway.raise_dispute is not None
    assert [str(r) for r in pathway.raise_dispute.by] == ["team_manager@from",
                                                          "team_manager@to"]


@pytest.mark.parametrize("pathway", ["early-help-to-irt", "early-help-return-to-a-and-i",
                                     "early-help-return-to-sgcp"])
def test_every_early_help_closure_summary_audits_relationships_and_genogram(pathway) -> None:
    items = PROTOCOLS[G].pathways[pathway].gates["closure_summary"].items
    assert {"relationships_up_to_date", "genogram_current"} <= set(items)
