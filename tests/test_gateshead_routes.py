"""Seed 000 (Gateshead), issue 9: the internal routes into SGCP, each started as the API starts
it, with a happy and a breach or refusal path (the intake routes are in
tests/test_gateshead_routes_intake.py).

- A&I -> SGCP at the ICPC that makes a CP plan (recorded with its date): due by the end of the
  next working day (over Christmas, and over Easter);
- A&I -> SGCP, a child accommodated, at the first LAC review: due within 20 working days of the
  child becoming looked after (across the October clock change); SWIS -> SGCP the same (over
  Christmas);
- A&I / Edge of Care -> SGCP at the letter before proceedings: the deciding service's court
  documents after the transfer, the EoC worker's parenting assessment before it;
- Edge of Care -> SGCP, an accommodated child: by the second LAC review, 3 months after the first.

Every date comes from the time-skipping server's present (tests.seed_scenes), counted by hand.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from models.transfer import DeadlineStatus, Stage, TransferView
from tests.scenario import Scenario, deadline, expect_mail, settled
from tests.seed_scenes import (
    MINUTE,
    at,
    at_17,
    christmas_on_a_friday,
    early_easter,
    june_monday,
    october_clock_change,
)
from tests.transfers import skip_to

G = "gateshead"
AUDIT = ["chronology_up_to_date", "recording_up_to_date", "relationships_up_to_date",
         "genogram_current"]
STARTED = "transfer proposed to your team"
TO_SGCP = "case transferred to sgcp"
ICPC_MISSED = "deadline missed: Transfer by the end of the working day after the ICPC"
LBP_MISSED = ("deadline missed: Transfer by the end of the working day after the letter "
              "before proceedings")
REVIEW_MISSED = ("deadline missed: Transfer at the first LAC review, within 20 working days "
                 "of the child becoming looked after")
SECOND_REVIEW_MISSED = ("deadline missed: Rehabilitated or transferred by the second LAC "
                        "review (3 months after the first)")


async def opened(ts_env: Any, worker: Any, pathway: str, anchor: datetime, *,
                 case_id: str = "C1") -> tuple[Scenario, TransferView]:
    await skip_to(ts_env, anchor)
    s = Scenario(ts_env.client, worker, G, pathway)
    return s, await s.open(anchor, case_id=case_id)


# ----- A&I -> SGCP at the ICPC -------------------------------------------------------------------

async def test_icpc_cp_plan_moves_the_case_to_sgcp_over_christmas(ts_env, worker, mailbox):
    christmas = christmas_on_a_friday(await ts_env.get_current_time())
    # ICPC convened Mon 21 Dec; held Thu 24 Dec, recorded that day. One working day after it:
    # Fri 25 Dec and Mon 28 Dec (Boxing Day's substitute) are closed: Tue 29 Dec, 17:00 GMT.
    s, view = await opened(ts_env, worker, "a-and-i-to-sgcp-cp-plan",
                           at(christmas - timedelta(days=4), 10))
    assert "transfer_by" not in {d.id for d in view.deadlines}  # no ICPC yet: no clock
    await skip_to(ts_env, at(christmas - timedelta(days=1), 15))
    kind, _ = await s.refused("record-cp-plan", "sgcp-tm", date=christmas - timedelta(days=1))
    assert kind == "NotPermitted"  # A&I records its conference's outcome
    view = await s.act("record-cp-plan", "a_and_i-tm", date=christmas - timedelta(days=1))
    due = at_17(christmas + timedelta(days=4))
    assert deadline(view, "transfer_by").due_at == due
    assert deadline(view, "transfer_by").due_local.endswith("17:00 GMT")
    assert (view.stage, view.responsible_team) == (Stage.proposed, "a_and_i")  # no summary
    await skip_to(ts_env, due - timedelta(hours=6))
    view = await s.act("authorise-summary", "a_and_i-tm", items=AUDIT)
    assert (view.stage, view.responsible_team) == (Stage.transferred, "sgcp")
    assert deadline(view, "transfer_by").status is DeadlineStatus.met
    await s.act("allocate", "sgcp-tm", worker_id="S1")
    await expect_mail(mailbox, G, {"sgcp-tm": [STARTED, TO_SGCP],
                                   "a_and_i-tm": [TO_SGCP, "worker S1 allocated"]})


async def test_icpc_summary_late_over_easter_tells_both_team_managers(ts_env, worker, mailbox):
    sunday = early_easter(await ts_env.get_current_time())
    # ICPC held on Maundy Thursday. Good Friday and Easter Monday are closed: the next working
    # day is the Tuesday after Easter, due at 17:00 that day.
    thursday = sunday - timedelta(days=3)
    s, _ = await opened(ts_env, worker, "a-and-i-to-sgcp-cp-plan",
                        at(thursday - timedelta(days=3), 10))
    await skip_to(ts_env, at(thursday, 16))
    view = await s.act("record-cp-plan", "a_and_i-tm", date=thursday)
    due = at_17(sunday + timedelta(days=2))
    assert deadline(view, "transfer_by").due_at == due
    await skip_to(ts_env, due - MINUTE)
    assert deadline(await s.view(), "transfer_by").status is DeadlineStatus.pending
    await skip_to(ts_env, due + MINUTE)
    view = await settled(s, lambda v: deadline(v, "transfer_by").status
                         is DeadlineStatus.missed)
    assert (view.stage, view.responsible_team) == (Stage.proposed, "a_and_i")
    await expect_mail(mailbox, G, {"sgcp-tm": [STARTED, ICPC_MISSED],
                                   "a_and_i-tm": [ICPC_MISSED]})


async def test_an_icpc_without_a_cp_plan_keeps_the_case_in_a_and_i(ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, "a-and-i-to-sgcp-cp-plan", at(monday, 9))
    await s.act("authorise-summary", "a_and_i-tm", items=AUDIT)
    kind, words = await s.refused("record-no-cp-plan", "a_and_i-tm")
    assert kind == "InvalidInput" and "Say why" in words
    view = await s.act("record-no-cp-plan", "a_and_i-tm", note="No CP plan: CiN plan")
    assert (view.stage, view.responsible_team) == (Stage.proposed, "a_and_i")
    view = await s.act("withdraw", "a_and_i-tm", note="CiN plan: stays in A&I")
    assert view.stage is Stage.withdrawn
    icpc = s.pathway.gates["icpc"].title
    await expect_mail(mailbox, G, {"sgcp-tm": [STARTED, f"{icpc}: no_cp_plan",
                                               "transfer withdrawn"]})


# ----- A&I / SWIS -> SGCP at the first LAC review ------------------------------------------------

async def test_accommodated_child_moves_at_the_first_lac_review_across_the_clock_change(
        ts_env, worker, mailbox):
    sunday = october_clock_change(await ts_env.get_current_time())
    # Accommodated on the Monday 13 days before the clocks go back (BST). Working days: Tue to
    # Fri (1-4), the next week (5-9), the week after the change (10-14), the next (15-19);
    # the 20th is the Monday after: sunday + 15, 17:00 GMT.
    monday = sunday - timedelta(days=13)
    s, view = await opened(ts_env, worker, "a-and-i-to-sgcp-accommodated", at(monday, 10))
    due = at_17(sunday + timedelta(days=15))
    assert deadline(view, "transfer_by").due_at == due
    assert deadline(view, "transfer_by").due_local.endswith("17:00 GMT")
    await s.act("authorise-summary", "a_and_i-tm", items=AUDIT)
    review = sunday + timedelta(days=9)  # the Tuesday of the second week of GMT
    await skip_to(ts_env, at(review, 14))
    view = await s.act("record-first-lac-review", "sgcp-tm", date=review)
    assert (view.stage, view.responsible_team) == (Stage.transferred, "sgcp")
    assert deadline(view, "transfer_by").status is DeadlineStatus.met
    await expect_mail(mailbox, G, {"sgcp-tm": [STARTED, TO_SGCP], "a_and_i-tm": [TO_SGCP]})


async def test_swis_child_looked_after_not_moved_in_20_working_days_over_christmas(
        ts_env, worker, mailbox):
    christmas = christmas_on_a_friday(await ts_env.get_current_time(), lead=30)
    # Looked after Fri 11 Dec. Working days: 14-18 Dec (1-5), 21-24 Dec (6-9); 25 and 28 Dec
    # closed; 29-31 Dec (10-12); 1 Jan closed; 4-8 Jan (13-17); 11, 12, 13 Jan (18-20): due
    # Wed 13 Jan, 17:00 GMT.
    s, view = await opened(ts_env, worker, "swis-to-sgcp-looked-after",
                           at(christmas - timedelta(days=14), 11))
    due = at_17(christmas + timedelta(days=19))
    assert deadline(view, "transfer_by").due_at == due
    await s.act("authorise-summary", "swis-tm", items=AUDIT)
    kind, _ = await s.refused("record-first-lac-review", "lac-tm", date=christmas.replace(
        day=11))
    assert kind == "NotPermitted"  # the two Team Managers'
    await skip_to(ts_env, due + MINUTE)
    view = await settled(s, lambda v: deadline(v, "transfer_by").status
                         is DeadlineStatus.missed)
    assert (view.stage, view.responsible_team) == (Stage.proposed, "swis")
    await expect_mail(mailbox, G, {"sgcp-tm": [STARTED, REVIEW_MISSED],
                                   "swis-tm": [REVIEW_MISSED]})


# ----- A&I / Edge of Care -> SGCP at the letter before proceedings -------------------------------

async def test_lbp_moves_the_case_and_the_court_documents_follow(ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, "a-and-i-to-sgcp-lbp", at(monday, 9))
    await s.act("authorise-summary", "a_and_i-tm", items=AUDIT)
    await skip_to(ts_env, at(monday + timedelta(days=1), 10))
    view = await s.act("record-lbp", "a_and_i-tm", date=monday)
    assert (view.stage, view.responsible_team) == (Stage.transferred, "sgcp")
    # Sent Monday: due the end of Tuesday (no bank holiday in June); met.
    assert deadline(view, "transfer_by").due_at == at_17(monday + timedelta(days=1))
    assert deadline(view, "transfer_by").status is DeadlineStatus.met
    view = await s.act("allocate", "sgcp-tm", worker_id="S2")
    documents = s.pathway.after_transfer["court_documents"].title
    assert f"{documents} (outstanding, no timescale)" in view.waiting_for
    kind, _ = await s.refused("provide-court-documents", "sgcp-sw")
    assert kind == "NotPermitted"  # the deciding service's
    view = await s.act("provide-court-documents", "a_and_i-sw")
    assert view.stage is Stage.closed


async def test_edge_of_care_lbp_waits_for_the_parenting_assessment(ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, "edge-of-care-to-sgcp-lbp", at(monday, 9))
    await s.act("authorise-summary", "edge_of_care-tm", items=AUDIT)
    friday = monday + timedelta(days=4)
    await skip_to(ts_env, at(friday, 12))
    view = await s.act("record-lbp", "edge_of_care-tm", date=friday)
    # Sent Friday: due the end of the next working day, Monday.
    due = at_17(monday + timedelta(days=7))
    assert deadline(view, "transfer_by").due_at == due
    assert view.stage is Stage.proposed  # the EoC worker's parenting assessment first
    kind, _ = await s.refused("complete-parenting-assessment", "edge_of_care-tm")
    assert kind == "NotPermitted"  # "completed by the EoC worker"
    await skip_to(ts_env, due + MINUTE)
    await settled(s, lambda v: deadline(v, "transfer_by").status is DeadlineStatus.missed)
    view = await s.act("complete-parenting-assessment", "edge_of_care-sw")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "sgcp")
    await expect_mail(mailbox, G, {"sgcp-tm": [STARTED, LBP_MISSED, TO_SGCP],
                                   "edge_of_care-tm": [LBP_MISSED, TO_SGCP]})


# ----- Edge of Care -> SGCP: an accommodated child, by the second LAC review ---------------------

def three_months_on(day: date) -> date:
    return day.replace(month=day.month + 3)  # June -> September, the same day of the month


async def test_edge_of_care_rehabilitation_not_achievable_moves_the_case(
        ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, "edge-of-care-to-sgcp-accommodated", at(monday, 9))
    await skip_to(ts_env, at(monday + timedelta(days=2), 10))
    view = await s.act("record-first-lac-review", "edge_of_care-tm", date=monday)
    assert deadline(view, "transfer_by").due_at == at_17(three_months_on(monday))
    kind, _ = await s.refused("record-rehabilitation-not-achievable", "sgcp-tm")
    assert kind == "NotPermitted"
    await s.act("authorise-summary", "edge_of_care-tm", items=AUDIT)
    view = await s.act("record-rehabilitation-not-achievable", "edge_of_care-tm")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "sgcp")
    assert deadline(view, "transfer_by").status is DeadlineStatus.met


async def test_edge_of_care_child_neither_home_nor_moved_by_the_second_review(
        ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, "edge-of-care-to-sgcp-accommodated", at(monday, 9))
    view = await s.act("record-first-lac-review", "sgcp-tm", date=monday)
    due = at_17(three_months_on(monday))
    assert deadline(view, "transfer_by").due_at == due
    await skip_to(ts_env, due + MINUTE)
    view = await settled(s, lambda v: deadline(v, "transfer_by").status
                         is DeadlineStatus.missed)
    assert (view.stage, view.responsible_team) == (Stage.proposed, "edge_of_care")
    await expect_mail(mailbox, G, {"sgcp-tm": [STARTED, SECOND_REVIEW_MISSED],
                                   "edge_of_care-tm": [SECOND_REVIEW_MISSED]})
