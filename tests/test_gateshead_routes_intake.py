"""Seed 000 (Gateshead), issue 9: the intake and sideways routes, each started as the API starts
it, with a happy and a refusal path: Supervision Orders SGCP -> A&I; s7 / s37 reports (the
Service Managers' joint decision; a closed case to the previous team, else A&I); referrals into
Edge of Care, SWIS and CWD; the Team Managers' joint decision into CWD; the IRT to A&I, to SGCP
and (a duty contact) to Early Help. None has a clock in the seed. Dates: a Monday in June next
year (tests.seed_scenes.june_monday).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from models.transfer import Stage, TransferView
from tests.scenario import Scenario, expect_mail
from tests.seed_scenes import at, june_monday
from tests.transfers import skip_to

G = "gateshead"
AUDIT = ["chronology_up_to_date", "recording_up_to_date", "relationships_up_to_date",
         "genogram_current"]
STARTED = "transfer proposed to your team"


async def opened(ts_env: Any, worker: Any, pathway: str, *, by: str | None = None,
                 children: list[str] | None = None,
                 case_id: str = "C1") -> tuple[Scenario, TransferView]:
    monday = june_monday(await ts_env.get_current_time())
    await skip_to(ts_env, at(monday, 9))
    s = Scenario(ts_env.client, worker, G, pathway)
    return s, await s.open(at(monday, 9), by=by, children=children, case_id=case_id)


def moved(view: TransferView, team: str) -> bool:
    return (view.stage, view.responsible_team) == (Stage.transferred, team)


# ----- Supervision Orders SGCP -> A&I ------------------------------------------------------------

async def test_supervision_order_moves_to_a_and_i_when_the_change_will_not_harm(
        ts_env, worker, mailbox):
    s, view = await opened(ts_env, worker, "sgcp-to-a-and-i-supervision-order")
    kind, words = await s.refused("confirm-no-negative-impact", "sgcp-tm")
    assert kind == "WrongStage" and "only after" in words  # the order first
    monday = view.anchor_at.date()
    await s.act("record-supervision-order", "sgcp-tm", date=monday - timedelta(days=3))
    kind, _ = await s.refused("confirm-no-negative-impact", "a_and_i-tm")
    assert kind == "NotPermitted"
    await s.act("confirm-no-negative-impact", "sgcp-tm")
    view = await s.act("authorise-summary", "sgcp-tm", items=AUDIT)
    assert moved(view, "a_and_i")
    await expect_mail(mailbox, G, {"a_and_i-tm": [STARTED, "case transferred to a_and_i"],
                                   "sgcp-tm": ["case transferred to a_and_i"]})


async def test_supervision_order_remaining_with_sgcp_is_withdrawn(ts_env, worker):
    s, _ = await opened(ts_env, worker, "sgcp-to-a-and-i-supervision-order")
    kind, _ = await s.refused("withdraw", "a_and_i-tm", note="x")
    assert kind == "NotPermitted"
    view = await s.act("withdraw", "sgcp-tm", note="Relationship with the SGCP worker")
    assert (view.stage, view.responsible_team) == (Stage.withdrawn, "sgcp")


# ----- s7 / s37 reports --------------------------------------------------------------------------

async def test_service_managers_jointly_agree_sgcp_takes_the_court_report(ts_env, worker):
    s, _ = await opened(ts_env, worker, "a-and-i-to-sgcp-court-report")
    await s.act("confirm-cp-plan-likely", "a_and_i-tm")
    await s.act("authorise-summary", "a_and_i-tm", items=AUDIT)
    kind, _ = await s.refused("agree-sgcp-takes-report", "a_and_i-tm")
    assert kind == "NotPermitted"  # the Service Managers'
    view = await s.act("agree-sgcp-takes-report", "a_and_i-sm")
    assert view.responsible_team == "a_and_i"  # the SGCP Service Manager has not agreed
    kind, words = await s.refused("agree-sgcp-takes-report", "a_and_i-sm")
    assert kind == "WrongStage" and "waits for" in words  # one side cannot decide alone
    view = await s.act("agree-sgcp-takes-report", "sgcp-sm")
    assert moved(view, "sgcp")


@pytest.mark.parametrize(("pathway", "team"), [
    ("s7-s37-closed-case-to-sgcp", "sgcp"), ("s7-s37-closed-case-to-cwd", "cwd"),
    ("s7-s37-closed-case-to-lac", "lac"), ("s7-s37-closed-case-to-edge-of-care", "edge_of_care"),
    ("s7-s37-closed-case-to-swis", "swis"), ("s7-s37-closed-case-to-a-and-i", "a_and_i")])
async def test_a_closed_case_report_goes_to_the_previous_team(ts_env, worker, pathway, team):
    s, _ = await opened(ts_env, worker, pathway)
    kind, _ = await s.refused("record-previous-involvement", f"{team}-tm")
    assert kind == "NotPermitted"  # the IRT routes it
    view = await s.act("record-previous-involvement", "irt-tm")
    assert moved(view, team)


async def test_a_closed_case_report_with_no_legitimate_link_goes_to_a_and_i(ts_env, worker):
    s, _ = await opened(ts_env, worker, "s7-s37-closed-case-to-sgcp")
    kind, words = await s.refused("record-no-legitimate-link", "irt-tm")
    assert kind == "InvalidInput" and "not an action" in words  # that is A&I's route
    a, _ = await opened(ts_env, worker, "s7-s37-closed-case-to-a-and-i", case_id="C2")
    view = await a.act("record-no-legitimate-link", "irt-tm")
    assert moved(view, "a_and_i")


# ----- into Edge of Care -------------------------------------------------------------------------

@pytest.mark.parametrize("pathway", ["irt-to-edge-of-care", "a-and-i-to-edge-of-care"])
async def test_edge_of_care_takes_a_child_over_11_at_imminent_risk(ts_env, worker, pathway):
    s, _ = await opened(ts_env, worker, pathway)
    sender = s.pathway.sending
    await s.act("authorise-summary", f"{sender}-tm", items=AUDIT)
    kind, _ = await s.refused("confirm-imminent-risk", f"{sender}-tm")
    assert kind == "NotPermitted"  # Edge of Care's Team Manager decides
    view = await s.act("confirm-imminent-risk", "edge_of_care-tm")
    assert moved(view, "edge_of_care")


async def test_sgcp_refers_to_edge_of_care_only_for_complex_family_dynamics(ts_env, worker):
    s, _ = await opened(ts_env, worker, "sgcp-to-edge-of-care")
    await s.act("authorise-summary", "sgcp-tm", items=AUDIT)
    kind, words = await s.refused("confirm-imminent-risk", "edge_of_care-tm")
    assert kind == "InvalidInput" and "not an action" in words
    view = await s.act("dispute", "edge_of_care-tm", note="Dynamics not complex enough")
    assert (view.stage, view.responsible_team) == (Stage.disputed, "sgcp")
    view = await s.act("resolve-dispute", "sgcp-sm", resolution="proceed", note="Agreed")
    assert moved(view, "edge_of_care")


# ----- into SWIS ---------------------------------------------------------------------------------

async def test_swis_takes_a_referral_with_a_school_link(ts_env, worker, mailbox):
    s, _ = await opened(ts_env, worker, "irt-to-swis")
    await s.act("authorise-summary", "irt-tm", items=AUDIT)
    view = await s.act("confirm-school-link", "swis-tm")
    assert moved(view, "swis")
    await s.act("allocate", "swis-tm", worker_id="SW9")
    link = s.pathway.gates["school_link"].title
    await expect_mail(mailbox, G, {
        "swis-tm": [STARTED, "case transferred to swis"],
        "irt-tm": [f"{link}: confirmed", "case transferred to swis", "worker SW9 allocated"]})


async def test_swis_without_a_school_link_tells_the_irt(ts_env, worker, mailbox):
    s, _ = await opened(ts_env, worker, "irt-to-swis")
    kind, _ = await s.refused("confirm-school-link", "irt-tm")
    assert kind == "NotPermitted"
    view = await s.act("record-no-school-link", "swis-tm", note="No child at our schools")
    assert (view.stage, view.responsible_team) == (Stage.proposed, "irt")
    view = await s.act("withdraw", "irt-tm", note="Referred to A&I")
    assert view.stage is Stage.withdrawn
    link = s.pathway.gates["school_link"].title
    await expect_mail(mailbox, G, {"swis-tm": [STARTED, "transfer withdrawn"],
                                   "irt-tm": [f"{link}: no_school_link"]})


# ----- into CWD ----------------------------------------------------------------------------------

async def test_irt_to_cwd_with_siblings_when_the_criteria_are_met(ts_env, worker):
    s, view = await opened(ts_env, worker, "irt-to-cwd", children=["C1", "C2"])
    assert view.children == ["C1", "C2"]
    kind, _ = await s.refused("confirm-cwd-criteria", "cwd-tm")
    assert kind == "NotPermitted"  # the IRT determines the criteria
    await s.act("confirm-cwd-criteria", "irt-tm")
    view = await s.act("authorise-summary", "irt-tm", items=AUDIT)
    assert moved(view, "cwd")
    kind, _ = await s.refused("allocate", "irt-tm", worker_id="X")
    assert kind == "NotPermitted"
    view = await s.act("allocate", "cwd-tm", worker_id="CWD1")
    assert view.stage is Stage.closed  # allocated, and nothing follows the transfer


@pytest.mark.parametrize("sender", ["a_and_i", "sgcp", "lac"])
async def test_into_cwd_after_both_team_managers_agree(ts_env, worker, sender):
    s, _ = await opened(ts_env, worker, f"{sender.replace('_', '-')}-to-cwd")
    await s.act("authorise-summary", f"{sender}-tm", items=AUDIT)
    view = await s.act("agree-transfer", f"{sender}-tm")
    assert view.stage is not Stage.transferred  # CWD's Team Manager has not agreed
    kind, words = await s.refused("agree-transfer", f"{sender}-tm")
    assert kind == "WrongStage" and "waits for the Team Manager of cwd" in words
    view = await s.act("agree-transfer", "cwd-tm")
    assert moved(view, "cwd")


# ----- the IRT to A&I, SGCP and Early Help -------------------------------------------------------

async def test_irt_refers_to_a_and_i_for_assessment(ts_env, worker):
    s, _ = await opened(ts_env, worker, "irt-to-a-and-i")
    kind, _ = await s.refused("refer-for-assessment", "a_and_i-tm")
    assert kind == "NotPermitted"
    await s.act("refer-for-assessment", "irt-tm")
    view = await s.act("raise-dispute", "a_and_i-tm", note="Not enough information")
    assert (view.stage, view.responsible_team) == (Stage.disputed, "irt")
    await s.act("authorise-summary", "irt-tm", items=AUDIT)
    view = await s.act("resolve-dispute", "irt-sm", resolution="proceed", note="Assess")
    assert moved(view, "a_and_i")


async def test_irt_to_sgcp_for_a_re_referral_within_three_months(ts_env, worker):
    s, _ = await opened(ts_env, worker, "irt-to-sgcp")
    kind, _ = await s.refused("record-re-referral", "sgcp-tm")
    assert kind == "NotPermitted"
    await s.act("record-re-referral", "irt-tm")
    view = await s.act("authorise-summary", "irt-tm", items=AUDIT)
    assert moved(view, "sgcp")


async def test_duty_contact_to_early_help_with_consent_and_the_managers_decision(
        ts_env, worker):
    s, _ = await opened(ts_env, worker, "irt-to-early-help", by="irt-sw")
    kind, words = await s.refused("add-rfeh", "early_help-sw",
                                  items=["consent_secured", "rfeh_added"])
    assert kind == "WrongStage" and "only after" in words
    await s.act("agree-eh-allocation", "early_help-sw")
    await s.act("add-rfeh", "early_help-sw", items=["consent_secured", "rfeh_added"])
    kind, _ = await s.refused("record-managers-decision", "early_help-sw", note="x")
    assert kind == "NotPermitted"  # the EH Duty Manager's
    view = await s.act("record-managers-decision", "early_help-tm", note="EH worker allocated")
    assert moved(view, "early_help")


async def test_duty_contact_closed_with_advice_moves_nothing(ts_env, worker, mailbox):
    s, _ = await opened(ts_env, worker, "irt-to-early-help", by="irt-sw")
    view = await s.act("close-contact", "early_help-tm", note="Advice given")
    assert (view.stage, view.responsible_team) == (Stage.proposed, "irt")
    view = await s.act("withdraw", "early_help-tm", note="Contact closed: advice given")
    assert (view.stage, view.responsible_team) == (Stage.withdrawn, "irt")
