"""Seed 000 (Gateshead) across authorities, and closure: each route with a happy path and a
breach, exact due dates and exact recipients -- the other authority's address included.

Transfers in (a child in need through A&I duty; a child on a CP plan through the Safeguarding
Children's Unit), transfers out (a child in need's permanent move, then closure; a CP child's
permanent move), the notices that keep the case here (a looked after child placed in another
authority: CF89 / 89a; a CP child's temporary move: the Designated Administrator's standard
notification), and the closure of a case with the Business Support audit.

Dates come from the time-skipping server's present (tests.seed_scenes): a Christmas on a
Friday (Boxing Day's substitute on Monday 28th, New Year's Day on a Friday), an Easter early
enough that the May bank holiday is weeks away, the October clock change, a June Monday.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest

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
from tests.transfers import events, eventually, skip_to

G = "gateshead"
NEWCASTLE = "childrens-front-door@newcastle.example"
OUT = {"other_authority": "newcastle"}
PROPOSED = "transfer proposed to your team"
CLOSURE = ["closure_summary_added", "case_recording_up_to_date", "chronology_up_to_date"]
AUDIT = "Business Support audit at closure"


async def opened(ts_env: Any, worker: Any, pathway: str, anchor: Any, *, by: str,
                 externals: dict[str, str] | None = None) -> tuple[Scenario, TransferView]:
    await skip_to(ts_env, anchor)
    s = Scenario(ts_env.client, worker, G, pathway)
    return s, await s.open(anchor, by=by, externals=externals)


def newcastle(mailbox: Any) -> list[str]:
    return sorted(re.sub(r"^\[gateshead\] Case C1: ", "", s) for s in mailbox.subjects(NEWCASTLE))


async def told(mailbox: Any, headlines: list[str]) -> None:
    """The other authority got exactly these emails, at its configured address."""
    await eventually(lambda: newcastle(mailbox), sorted(headlines).__eq__)


def missed(title: str) -> str:
    return f"deadline missed: {title}"


# ----- transfers in ----------------------------------------------------------------------------

async def test_a_child_in_need_transfers_in_through_a_and_i_duty_over_christmas(
        ts_env, worker, mailbox):
    christmas = christmas_on_a_friday(await ts_env.get_current_time())
    # Request received Fri 18 Dec. Ten working days: Mon 21 - Thu 24 (1-4); Fri 25 and Mon 28
    # closed; Tue 29 - Thu 31 (5-7); Fri 1 Jan closed; Mon 4 - Wed 6 Jan (8-10).
    s, view = await opened(ts_env, worker, "other-authority-to-sgcp-cin",
                           at(christmas - timedelta(days=7), 10), by="a_and_i-sw", externals=OUT)
    assert (view.from_team, view.to_team) == ("other_authority", "sgcp")
    assert deadline(view, "documents_by").due_at == at_17(christmas + timedelta(days=12))
    assert (await s.refused("forward-to-sgcp", "a_and_i-tm"))[0] == "WrongStage"
    await s.act("record-documents-received", "a_and_i-sw",
                items=["cin_single_assessment", "cin_plan", "chronology", "genogram"])
    await s.act("record-in-transfer-diary", "a_and_i-sw")
    assert (await s.refused("forward-to-sgcp", "sgcp-tm"))[0] == "NotPermitted"
    view = await s.act("forward-to-sgcp", "a_and_i-tm")
    assert view.stage is Stage.transferred and view.responsible_team == "sgcp"
    assert deadline(view, "documents_by").status is DeadlineStatus.met
    view = await s.act("allocate", "sgcp-tm", worker_id="W1")
    moved = "case transferred to sgcp"
    await expect_mail(mailbox, G, {"a_and_i-tm": [PROPOSED, moved, "worker W1 allocated"],
                                   "sgcp-tm": [PROPOSED, moved]})
    await told(mailbox, [moved])


async def test_documents_not_in_after_ten_working_days_chase_the_other_authority(
        ts_env, worker, mailbox):
    christmas = christmas_on_a_friday(await ts_env.get_current_time())
    s, view = await opened(ts_env, worker, "other-authority-to-sgcp-cin",
                           at(christmas - timedelta(days=7), 10), by="a_and_i-tm", externals=OUT)
    due = deadline(view, "documents_by").due_at
    await skip_to(ts_env, due - MINUTE)
    assert deadline(await s.view(), "documents_by").status is DeadlineStatus.pending
    await skip_to(ts_env, due + MINUTE)
    await settled(s, lambda v: deadline(v, "documents_by").status is DeadlineStatus.missed)
    late = missed("Minimum documents received within 10 working days of the request")
    await expect_mail(mailbox, G, {"a_and_i-tm": [PROPOSED, late], "sgcp-tm": [PROPOSED]})
    await told(mailbox, [late])


async def test_a_cp_child_transfers_in_once_the_sgcp_manager_accepts_over_easter(
        ts_env, worker, mailbox):
    easter = early_easter(await ts_env.get_current_time())
    # Notification Mon before Easter. Fifteen working days: Tue - Thu (1-3); Good Friday and
    # Easter Monday closed; Tue E+2 - Fri E+5 (4-7); Mon E+8 - Fri E+12 (8-12); Mon E+15 - Wed
    # E+17 (13-15); the May bank holiday is the first Monday of May, E+22 at the earliest.
    s, view = await opened(ts_env, worker, "other-authority-to-sgcp-cp-plan",
                           at(easter - timedelta(days=6), 10), by="da", externals=OUT)
    assert deadline(view, "decision_by").due_at == at_17(easter + timedelta(days=17))
    assert (await s.refused("accept", "sgcp-tm"))[0] == "WrongStage"  # documents first
    await s.act("request-documents", "sgcp-tm")
    await s.act("record-documents-received", "sgcp-tm")
    assert (await s.refused("accept", "lac-tm"))[0] == "NotPermitted"
    view = await s.act("accept", "sgcp-tm")
    assert view.stage is Stage.transferred and view.responsible_team == "sgcp"
    await s.act("allocate", "sgcp-tm", worker_id="W2")
    moved = "case transferred to sgcp"
    await expect_mail(mailbox, G, {"sgcp-tm": [PROPOSED, moved], "da": [PROPOSED, moved]})
    await told(mailbox, [moved])


async def test_a_cp_transfer_in_undecided_in_fifteen_working_days_is_escalated(
        ts_env, worker, mailbox):
    easter = early_easter(await ts_env.get_current_time())
    s, view = await opened(ts_env, worker, "other-authority-to-sgcp-cp-plan",
                           at(easter - timedelta(days=6), 10), by="da", externals=OUT)
    await s.act("request-documents", "sgcp-tm")
    await skip_to(ts_env, at_17(easter + timedelta(days=17)) + MINUTE)
    await settled(s, lambda v: deadline(v, "decision_by").status is DeadlineStatus.missed)
    late = missed("Decision on the transfer within 15 working days of the notification")
    await expect_mail(mailbox, G, {"sgcp-tm": [PROPOSED, late], "sgcp-sm": [late],
                                   "da": [PROPOSED, late]})
    await told(mailbox, [])


async def test_a_cp_transfer_in_not_accepted_tells_the_unit_and_the_other_authority(
        ts_env, worker, mailbox):
    s, view = await opened(ts_env, worker, "other-authority-to-sgcp-cp-plan",
                           at(june_monday(await ts_env.get_current_time()), 10), by="da",
                           externals=OUT)
    await s.act("request-documents", "sgcp-tm")
    await s.act("record-documents-received", "sgcp-tm")
    refused = await s.refused("decline", "sgcp-tm")
    assert refused[0] == "InvalidInput"  # the reason is required
    await s.act("decline", "sgcp-tm", note="the family have not moved")
    view = await s.act("withdraw", "sgcp-tm", note="not accepted")
    assert view.stage is Stage.withdrawn
    answer = "SGCP Team Manager's decision on accepting the transfer: not_accepted"
    await expect_mail(mailbox, G, {"sgcp-tm": [PROPOSED], "da": [PROPOSED, answer,
                                                                "transfer withdrawn"]})
    await told(mailbox, [answer, "transfer withdrawn"])


# ----- transfers out ---------------------------------------------------------------------------

async def test_a_child_in_need_moves_away_and_the_case_closes_after_the_clock_change(
        ts_env, worker, mailbox, directory_engine):
    sunday = october_clock_change(await ts_env.get_current_time())
    # Move known Thu before the clocks go back (BST). Five working days: Fri (1), Mon - Thu
    # (2-5): Thu after the change, 17:00 GMT.
    s, view = await opened(ts_env, worker, "a-and-i-to-other-authority-cin",
                           at(sunday - timedelta(days=3), 10), by="a_and_i-sw", externals=OUT)
    due = deadline(view, "referral_by")
    assert due.due_at == at_17(sunday + timedelta(days=4)) and due.due_local.endswith("GMT")
    await s.act("record-referral", "a_and_i-sw")
    await s.act("record-taken-on", "a_and_i-sw")
    await s.act("complete-closure-summary", "a_and_i-sw", items=CLOSURE)
    view = await s.act("authorise-closure", "a_and_i-tm")
    assert view.stage is Stage.transferred and view.responsible_team == "other_authority"
    assert [t for t in view.waiting_for if AUDIT in t]
    assert (await s.refused("allocate", "a_and_i-tm", worker_id="W1"))[0] == "WrongStage"
    view = await s.act("record-closure-audit", "bs")
    assert view.stage is Stage.closed
    moved = "case transferred to other_authority (newcastle)"
    await expect_mail(mailbox, G, {"a_and_i-tm": [PROPOSED, moved], "bs": [moved]})
    await told(mailbox, [])


async def test_a_referral_not_made_in_five_working_days_tells_the_a_and_i_manager(
        ts_env, worker, mailbox):
    sunday = october_clock_change(await ts_env.get_current_time())
    s, view = await opened(ts_env, worker, "a-and-i-to-other-authority-cin",
                           at(sunday - timedelta(days=3), 10), by="a_and_i-sw", externals=OUT)
    await skip_to(ts_env, at_17(sunday + timedelta(days=4)) + MINUTE)
    await settled(s, lambda v: deadline(v, "referral_by").status is DeadlineStatus.missed)
    late = missed("Referral to the other authority within 5 working days of the move being known")
    await expect_mail(mailbox, G, {"a_and_i-tm": [PROPOSED, late]})


async def test_a_cp_child_moves_permanently_once_the_new_authority_accepts(
        ts_env, worker, mailbox, directory_engine):
    monday = june_monday(await ts_env.get_current_time())
    # Notified by the end of Tuesday; fifteen working days: three weeks on, Mon 17:00.
    s, view = await opened(ts_env, worker, "sgcp-to-other-authority-cp-permanent-move",
                           at(monday, 10), by="sgcp-tm", externals=OUT)
    assert deadline(view, "notified_by").due_at == at_17(monday + timedelta(days=1))
    assert deadline(view, "transfer_by").due_at == at_17(monday + timedelta(days=21))
    notified = "New authority notified by the Designated Administrator"
    assert (await s.refused("record-new-authority-notified", "sgcp-tm"))[0] == "NotPermitted"
    await s.act("record-new-authority-notified", "da")
    await told(mailbox, [notified])
    await s.act("record-responsibility-discussion", "sgcp-sw")
    await s.act("record-supervision-confirmed", "sgcp-tm", note="confirmed by letter")
    # The new authority's transfer-in conference, a week on Wednesday: recorded that day.
    await skip_to(ts_env, at(monday + timedelta(days=9), 15))
    view = await s.act("record-responsibility-accepted", "sgcp-tm",
                       date=monday + timedelta(days=9))
    assert view.stage is Stage.transferred and view.responsible_team == "other_authority"
    view = await s.act("record-closure-audit", "bs")
    assert view.stage is Stage.closed
    moved = "case transferred to other_authority (newcastle)"
    await expect_mail(mailbox, G, {"sgcp-tm": [PROPOSED, moved], "da": [PROPOSED],
                                   "bs": [moved]})
    await told(mailbox, [notified, moved])


async def test_a_new_authority_not_notified_over_easter_is_chased(ts_env, worker, mailbox):
    easter = early_easter(await ts_env.get_current_time())
    # Move known Maundy Thursday: one working day -- Good Friday and Easter Monday are closed
    # -- is Tuesday after Easter, 17:00.
    s, view = await opened(ts_env, worker, "sgcp-to-other-authority-cp-permanent-move",
                           at(easter - timedelta(days=3), 10), by="sgcp-sw", externals=OUT)
    due = at_17(easter + timedelta(days=2))
    assert deadline(view, "notified_by").due_at == due
    await skip_to(ts_env, due + MINUTE)
    await settled(s, lambda v: deadline(v, "notified_by").status is DeadlineStatus.missed)
    late = missed("New authority notified by the end of the next working day")
    await expect_mail(mailbox, G, {"sgcp-tm": [PROPOSED, late], "da": [PROPOSED, late]})
    await told(mailbox, [])


# ----- notices that keep the case here ---------------------------------------------------------

async def test_a_lac_placement_elsewhere_is_notified_and_the_case_stays(ts_env, worker, mailbox,
                                                                         directory_engine):
    monday = june_monday(await ts_env.get_current_time())
    s, view = await opened(ts_env, worker, "lac-placed-in-other-authority", at(monday, 10),
                           by="lac-sw", externals=OUT)
    assert deadline(view, "cf89_by").due_at == at_17(monday + timedelta(days=7))
    await s.act("record-cf89-sent", "bs", items=["cf89_89a_completed", "sent_by_secure_email",
                                                 "copy_to_duty_fostering_admin"])
    view = await s.act("record-information-sent", "lac-sw")
    assert view.stage is Stage.closed and view.responsible_team == "lac"
    assert "completed" in [e.kind for e in events(directory_engine, view.run_id)]
    done = ("complete: A looked after child placed with carers in another local authority "
            "(CF89 / 89a)")
    await expect_mail(mailbox, G, {"bs": [PROPOSED], "lac-tm": [done]})
    await told(mailbox, [])  # the CF89 goes by secure email, recorded here


async def test_a_cf89_not_sent_in_five_working_days_is_chased(ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, view = await opened(ts_env, worker, "lac-placed-in-other-authority", at(monday, 10),
                           by="lac-sw", externals=OUT)
    await skip_to(ts_env, at_17(monday + timedelta(days=7)) + MINUTE)
    await settled(s, lambda v: deadline(v, "cf89_by").status is DeadlineStatus.missed)
    late = missed("CF89 / 89a sent within 5 working days of the placement")
    await expect_mail(mailbox, G, {"bs": [PROPOSED, late], "lac-tm": [late]})


async def test_a_temporary_move_is_notified_at_once_and_the_case_stays(ts_env, worker, mailbox):
    christmas = christmas_on_a_friday(await ts_env.get_current_time())
    # Referred Christmas Eve, 15:00: the next working day ends Tue 29 Dec, 17:00.
    s, view = await opened(ts_env, worker, "sgcp-cp-temporary-move",
                           at(christmas - timedelta(days=1), 15), by="sgcp-sw", externals=OUT)
    assert deadline(view, "notification_by").due_at == at_17(christmas + timedelta(days=4))
    notification = ("Standard notification sent by the Designated Administrator to the other "
                    "authority's Designated Manager and Designated Administrator")
    await s.act("record-standard-notification", "da")
    await told(mailbox, [notification])
    view = await s.act("record-plan-details-not-required", "sgcp-tm",
                       note="no specific information needed for a week's stay")
    assert view.stage is Stage.closed and view.responsible_team == "sgcp"
    done = "complete: A child on a CP plan moving temporarily to another local authority"
    await expect_mail(mailbox, G, {"da": [PROPOSED], "sgcp-tm": [PROPOSED, done]})


async def test_a_temporary_move_not_notified_by_the_next_working_day_is_chased(
        ts_env, worker, mailbox):
    christmas = christmas_on_a_friday(await ts_env.get_current_time())
    s, view = await opened(ts_env, worker, "sgcp-cp-temporary-move",
                           at(christmas - timedelta(days=1), 15), by="sgcp-sw", externals=OUT)
    await skip_to(ts_env, at_17(christmas + timedelta(days=4)) + MINUTE)
    await settled(s, lambda v: deadline(v, "notification_by").status is DeadlineStatus.missed)
    late = missed("Standard notification sent by the end of the working day the move is "
                  "referred")
    await expect_mail(mailbox, G, {"da": [PROPOSED, late], "sgcp-tm": [PROPOSED, late]})
    await told(mailbox, [])


# ----- closure ---------------------------------------------------------------------------------

@pytest.mark.parametrize("team", ["a_and_i", "sgcp", "lac", "cwd", "edge_of_care", "swis",
                                  "early_help"])
async def test_a_case_closes_with_its_summary_authorised_and_business_support_audit(
        ts_env, worker, mailbox, directory_engine, team):
    monday = june_monday(await ts_env.get_current_time())
    pathway = f"{team.replace('_', '-')}-closure"
    s, view = await opened(ts_env, worker, pathway, at(monday, 10), by=f"{team}-sw")
    assert (view.from_team, view.to_team) == (team, team)
    assert (await s.refused("authorise-closure", f"{team}-tm"))[0] == "WrongStage"
    await s.act("complete-closure-summary", f"{team}-sw", items=CLOSURE)
    view = await s.act("authorise-closure", f"{team}-tm")
    assert view.stage is Stage.transferred and view.responsible_team == team
    closed_at = view.transferred_at
    assert closed_at is not None
    # The audit: ten working days from the closure (Monday): a fortnight on, Monday 17:00.
    assert deadline(view, "closure_audit").due_at == at_17(monday + timedelta(days=14))
    assert [e.kind for e in events(directory_engine, view.run_id)][-1] == "case_closed"
    view = await s.act("record-closure-audit", "bs")
    assert view.stage is Stage.closed
    await expect_mail(mailbox, G, {f"{team}-tm": ["case closed"], "bs": ["case closed"]})


async def test_a_closure_left_unauthorised_over_christmas_reaches_the_service_manager(
        ts_env, worker, mailbox):
    christmas = christmas_on_a_friday(await ts_env.get_current_time())
    s, view = await opened(ts_env, worker, "sgcp-closure",
                           at(christmas - timedelta(days=7), 10), by="sgcp-sw")
    due = at_17(christmas + timedelta(days=12))  # ten working days, as counted above
    assert deadline(view, "authorised_by").due_at == due
    await s.act("complete-closure-summary", "sgcp-sw", items=CLOSURE)
    await skip_to(ts_env, due + MINUTE)
    await settled(s, lambda v: deadline(v, "authorised_by").status is DeadlineStatus.missed)
    late = missed("Closure authorised within 10 working days of being proposed")
    await expect_mail(mailbox, G, {"sgcp-tm": [late], "sgcp-sm": [late]})


async def test_a_closure_audit_not_done_in_ten_working_days_reminds_business_support(
        ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, view = await opened(ts_env, worker, "lac-closure", at(monday, 10), by="lac-sw")
    await s.act("complete-closure-summary", "lac-sw", items=CLOSURE)
    await s.act("authorise-closure", "lac-tm")
    due = at_17(monday + timedelta(days=14))
    await skip_to(ts_env, due + MINUTE)
    # Missed is an end, as for every post-transfer duty: the reminder goes, and the closure's
    # record ends with the audit shown as missed.
    view = await settled(s, lambda v: v.stage is Stage.closed)
    assert deadline(view, "closure_audit").status is DeadlineStatus.missed
    reminder = f"reminder: {AUDIT}"
    await expect_mail(mailbox, G, {"lac-tm": ["case closed", reminder],
                                   "bs": ["case closed", reminder]})


def test_every_new_route_is_dated_in_a_scene_that_holds() -> None:
    """The scenes this file uses exist ahead of any day (their own asserts check the calendar)."""
    for year in (2026, 2030, 2040):
        now = at(date(year, 12, 31), 23)
        assert christmas_on_a_friday(now).weekday() == 4
        assert early_easter(now).weekday() == 6
        assert october_clock_change(now).weekday() == 6
