"""The last three seed rules once marked not yet, each as protocol data with what the engine has.

- Seed 000 (Gateshead): "N.B. Escalation of cases where there is significant/immediate risk to
  children also uses Steps 1-2 in this process." -- a separate route, early-help-to-irt-urgent:
  the case moves to the IRT once the threshold is agreed and the referral made; Early Help's
  closure summary and its authorisation follow the transfer, outstanding until done.
- Seed 002 (Nottingham): "During the period of co-working the Targeted Family Support Worker
  and Team will be allocated as the Assistant Episode Co-ordinator." -- on early-help-to-tfst,
  a record needed only when co-working was agreed, which never holds the transfer up (Early
  Help keeps the case until it moves).
- Seed 002, Appendix 1: "If there are any difficulties completing these tasks please ensure
  there is discussion with the receiving Team Manager and that a resolution is reached." -- on
  every pathway, the receiving Team Manager records the resolution (with the reason) or that
  none was raised; it never holds the transfer up.

Each: a happy path and a refusal or breach path. Dates come from the time-skipping server's
present (tests.seed_scenes: next June), so they hold on any day the suite runs; emails are
checked exactly: who got which.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from models.protocol import GateKind
from models.transfer import Stage, TransferView
from tests.scenario import PROTOCOLS, Scenario, expect_mail, settled
from tests.seed_scenes import MINUTE, at, at_17, june_monday
from tests.transfers import skip_to

G, N = "gateshead", "nottingham"
STARTED = "transfer proposed to your team"
LADDER = "Disagreement about the transfer"
URGENT = "early-help-to-irt-urgent"


async def opened(ts_env: Any, worker: Any, authority: str, pathway: str, anchor: datetime,
                 case_id: str = "C1") -> tuple[Scenario, TransferView]:
    await skip_to(ts_env, anchor)
    s = Scenario(ts_env.client, worker, authority, pathway)
    return s, await s.open(anchor, case_id=case_id)


async def walk(s: Scenario, steps: list[tuple[str, str]]) -> TransferView:
    """Each step as its manager sends it: a checklist with every item confirmed."""
    view = await s.view()
    for action, who in steps:
        gate_id, _ = s.pathway.actions()[action]
        gate = s.pathway.gates[gate_id]
        view = await (s.act(action, who, items=list(gate.items))
                      if gate.kind is GateKind.checklist else s.act(action, who))
    return view


def gate_of(view: TransferView, gate_id: str) -> Any:
    return next(g for g in view.gates if g.id == gate_id)


def title(s: Scenario, gate_id: str) -> str:
    return s.pathway.gates[gate_id].title


# ----- Gateshead: the urgent escalation from Early Help uses steps 1-2 -------------------------

def test_the_urgent_route_moves_at_steps_1_and_2_and_the_usual_one_waits() -> None:
    urgent = PROTOCOLS[G].pathways[URGENT]
    usual = PROTOCOLS[G].pathways["early-help-to-irt"]
    assert (urgent.sending, urgent.receiving) == (usual.sending, usual.receiving)
    assert urgent.transfer.requires == ["threshold", "referral"]
    assert {"closure_summary", "closure_authorised"} <= set(usual.transfer.requires)
    # The summary and its authorisation follow the transfer, with no timescale.
    for task in ("closure_summary", "closure_authorised"):
        duty = urgent.after_transfer[task]
        assert duty.within is None and duty.action == usual.gate_action(task)


async def test_urgent_escalation_moves_at_the_referral_and_the_closure_summary_follows(
        ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, view = await opened(ts_env, worker, G, URGENT, at(monday, 9))
    assert view.deadlines == []  # the seed gives no timescale: none is invented
    kind, _ = await s.refused("add-referral", "early_help-sw")
    assert kind == "WrongStage"  # step 1 first: the threshold agreed with the IRT duty manager
    kind, _ = await s.refused("agree-threshold", "early_help-tm")
    assert kind == "NotPermitted"  # the IRT duty manager agrees it
    await s.act("agree-threshold", "irt-tm")
    kind, _ = await s.refused("add-closure-summary", "early_help-sw")
    assert kind == "WrongStage"  # it follows the transfer
    await skip_to(ts_env, at(monday, 10))
    view = await s.act("add-referral", "early_help-sw")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "irt")
    view = await s.act("allocate", "irt-tm", worker_id="IRT1")
    assert view.stage is Stage.allocated  # held open by Early Help's closure, outstanding
    summary, authorised = (s.pathway.after_transfer[t].title
                           for t in ("closure_summary", "closure_authorised"))
    assert view.waiting_for == [f"{summary} (outstanding, no timescale)",
                                f"{authorised} (outstanding, no timescale)"]
    kind, _ = await s.refused("add-closure-summary", "irt-tm")
    assert kind == "NotPermitted"  # Early Help's summary
    await skip_to(ts_env, at(monday + timedelta(days=3), 11))
    view = await s.act("add-closure-summary", "early_help-sw")
    assert view.stage is Stage.allocated
    kind, _ = await s.refused("authorise-closure-summary", "early_help-sw")
    assert kind == "NotPermitted"  # the EH Manager authorises
    view = await s.act("authorise-closure-summary", "early_help-tm")
    assert view.stage is Stage.closed
    await expect_mail(mailbox, G, {
        "irt-tm": [STARTED, "case transferred to irt"],
        "early_help-tm": [f"{title(s, 'threshold')}: agreed", "case transferred to irt",
                          "worker IRT1 allocated"]})


async def test_urgent_escalation_threshold_disputed_stays_with_early_help_and_climbs(
        ts_env, worker, mailbox):
    # Disputed on the first Monday of next June at 10:00: the Team Managers' 5 working days
    # are Tue to Fri and the next Monday (no bank holiday in June): due Mon 17:00 BST.
    monday = june_monday(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, G, URGENT, at(monday, 9))
    kind, words = await s.refused("dispute-threshold", "irt-tm")
    assert kind == "InvalidInput" and "Say why" in words
    await skip_to(ts_env, at(monday, 10))
    view = await s.act("dispute-threshold", "irt-tm", note="No immediate risk: usual route")
    assert (view.stage, view.responsible_team) == (Stage.disputed, "early_help")
    assert view.dispute is not None
    due = at_17(monday + timedelta(days=7))
    assert view.dispute.level_due_at == due
    kind, _ = await s.refused("add-referral", "early_help-sw")
    assert kind == "WrongStage"  # nothing moves while it is disputed
    referred = f"dispute referred to you: {LADDER}"
    await skip_to(ts_env, due + MINUTE)
    view = await settled(s, lambda v: v.escalation_level == 2)
    assert (view.stage, view.responsible_team) == (Stage.disputed, "early_help")
    view = await s.act("resolve-dispute", "irt-sm", resolution="decline",
                       note="Not urgent: refer through early-help-to-irt")
    assert (view.stage, view.responsible_team) == (Stage.declined, "early_help")
    await expect_mail(mailbox, G, {
        "irt-tm": [STARTED, referred, "dispute resolved: decline"],
        "early_help-tm": [referred, "dispute resolved: decline"],
        "irt-sm": [f"dispute not resolved within 5 working days: {LADDER}"],
        "early_help-sm": [f"dispute not resolved within 5 working days: {LADDER}"]})


# ----- Nottingham: the TFS worker and team as Assistant Episode Co-ordinator ---------------------

ASSISTANT = "assistant_episode_coordinator"
TO_TFST_BEFORE_CO_WORKING = [("record-joint-visit", "early_help-sw"),
                             ("agree-transfer", "tfst-tm"), ("agree-transfer", "early_help-tm")]
TO_TFST_AFTER_CO_WORKING = [("complete-checklist", "early_help-tm"),
                            ("initiate", "early_help-tm"), ("accept", "tfst-tm")]


def test_the_assistant_episode_coordinator_is_a_record_that_never_holds_the_transfer() -> None:
    pathway = PROTOCOLS[N].pathways["early-help-to-tfst"]
    assert pathway.gates[ASSISTANT].applies_if == "co_working:agreed"
    assert ASSISTANT not in pathway.transfer.requires


async def test_during_co_working_the_tfs_worker_is_recorded_as_assistant_episode_coordinator(
        ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, N, "early-help-to-tfst", at(monday, 9))
    await walk(s, TO_TFST_BEFORE_CO_WORKING)
    kind, words = await s.refused("record-assistant-episode-coordinator", "early_help-tm")
    assert kind == "WrongStage" and "only after" in words  # the co-working is not agreed yet
    view = await s.act("agree-co-working", "tfst-tm")
    assistant = title(s, ASSISTANT)
    assert any(w.startswith(assistant) for w in view.waiting_for)  # shown as outstanding
    kind, _ = await s.refused("record-assistant-episode-coordinator", "early_help-sw")
    assert kind == "NotPermitted"  # a manager records the allocation of the role
    await skip_to(ts_env, at(monday, 11))
    view = await s.act("record-assistant-episode-coordinator", "tfst-tm",
                       note="TFS worker W7, TFST North")
    assert gate_of(view, ASSISTANT).done
    # A record, not the case's allocation: Early Help keeps the case and nobody is allocated.
    assert (view.stage, view.responsible_team, view.allocated_worker) == (
        Stage.proposed, "early_help", None)
    kind, _ = await s.refused("allocate", "tfst-tm", worker_id="W7")
    assert kind == "WrongStage"
    view = await walk(s, TO_TFST_AFTER_CO_WORKING)
    assert (view.stage, view.responsible_team) == (Stage.transferred, "tfst")
    await expect_mail(mailbox, N, {
        "tfst-tm": [STARTED, "case transferred to tfst"],
        "early_help-tm": [f"your agreement is needed: {title(s, 'joint_decision')}",
                          title(s, "accepted"), "case transferred to tfst"]})


async def test_without_co_working_there_is_no_assistant_role_and_it_never_holds_the_transfer(
        ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    # No co-working: the role is not needed, and recording it is refused.
    s, _ = await opened(ts_env, worker, N, "early-help-to-tfst", at(monday, 9))
    await walk(s, TO_TFST_BEFORE_CO_WORKING)
    view = await s.act("record-no-co-working", "early_help-tm")
    assert gate_of(view, ASSISTANT).not_needed
    kind, words = await s.refused("record-assistant-episode-coordinator", "tfst-tm")
    assert kind == "WrongStage" and "is not needed" in words
    view = await walk(s, TO_TFST_AFTER_CO_WORKING)
    assert (view.stage, view.responsible_team) == (Stage.transferred, "tfst")
    # Co-working agreed but the role never recorded: the case still moves when the steps are
    # done (the record is shown as outstanding until then, never a condition of the move).
    t, _ = await opened(ts_env, worker, N, "early-help-to-tfst", at(monday, 10), case_id="C2")
    await walk(t, [*TO_TFST_BEFORE_CO_WORKING, ("agree-co-working", "early_help-tm"),
                   *TO_TFST_AFTER_CO_WORKING])
    view = await t.view()
    assert (view.stage, view.responsible_team) == (Stage.transferred, "tfst")
    assert not gate_of(view, ASSISTANT).done


# ----- Nottingham, Appendix 1: difficulties discussed with the receiving Team Manager ------------

DIFFICULTIES = "checklist_difficulties"


def test_every_pathway_with_the_checklist_has_the_receiving_team_manager_s_resolution() -> None:
    for pid, pathway in PROTOCOLS[N].pathways.items():
        assert "checklist" in pathway.gates, pid
        gate = pathway.gates[DIFFICULTIES]
        assert [str(r) for r in gate.by] == ["team_manager@to"], pid
        assert DIFFICULTIES not in pathway.transfer.requires, pid  # never holds it up
        assert pathway.outcomes(DIFFICULTIES)["resolved"].reason_required, pid
        assert not pathway.outcomes(DIFFICULTIES)["none"].reason_required, pid


async def test_a_difficulty_with_the_checklist_is_resolved_with_the_receiving_team_manager(
        ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, N, "mash-to-duty", at(monday, 9))
    # The sending side cannot record a resolution alone, and a resolution says what it was.
    kind, _ = await s.refused("record-checklist-resolution", "mash-tm", note="x")
    assert kind == "NotPermitted"
    kind, words = await s.refused("record-checklist-resolution", "duty-tm")
    assert kind == "InvalidInput" and "Say why" in words
    await skip_to(ts_env, at(monday, 10))
    view = await s.act("record-checklist-resolution", "duty-tm",
                       note="Chronology not updated: Duty accepts it by Friday from MASH")
    assert gate_of(view, DIFFICULTIES).outcome == "resolved"
    kind, _ = await s.refused("record-no-checklist-difficulties", "duty-tm")
    assert kind == "WrongStage"  # already recorded
    view = await walk(s, [("complete-checklist", "mash-tm"), ("accept", "duty-tm")])
    assert (view.stage, view.responsible_team) == (Stage.transferred, "duty")
    await expect_mail(mailbox, N, {
        "duty-tm": [STARTED, "case transferred to duty"],
        "mash-tm": [f"{title(s, DIFFICULTIES)}: resolved",
                    f"{title(s, 'accepted')}: accepted", "case transferred to duty"]})


async def test_no_difficulty_recorded_or_none_the_checklist_still_holds_the_transfer(
        ts_env, worker, mailbox):
    monday = june_monday(await ts_env.get_current_time())
    s, _ = await opened(ts_env, worker, N, "mash-to-duty", at(monday, 9))
    # "None raised" by the receiving Team Manager does not excuse the checklist: the rows are
    # still confirmed one by one before the case moves.
    view = await s.act("record-no-checklist-difficulties", "duty-tm")
    assert gate_of(view, DIFFICULTIES).done
    rows = s.pathway.gates["checklist"].items
    kind, words = await s.refused("complete-checklist", "mash-tm", items=rows[:-1])
    assert kind == "InvalidInput" and rows[-1] in words
    view = await s.act("accept", "duty-tm")
    assert (view.stage, view.responsible_team) == (Stage.proposed, "mash")  # the checklist
    view = await walk(s, [("complete-checklist", "mash-tm")])
    assert (view.stage, view.responsible_team) == (Stage.transferred, "duty")
    # On the urgent Section 47 route the case moves at once; the discussion about the
    # checklist, completed after the move, may still be recorded then.
    t, _ = await opened(ts_env, worker, N, "tfst-to-fieldwork-section-47", at(monday, 11),
                        case_id="C2")
    view = await t.act("take-section-47", "fieldwork-tm")
    assert (view.stage, view.responsible_team) == (Stage.transferred, "fieldwork")
    assert not gate_of(view, DIFFICULTIES).done
    view = await t.act("record-checklist-resolution", "fieldwork-tm",
                       note="Direct work not saved: TFST saves it by Wednesday")
    assert gate_of(view, DIFFICULTIES).outcome == "resolved"
