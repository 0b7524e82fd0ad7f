"""Organisations outside the council, and a case closing instead of moving.

On `tests/protocols/testshire.yaml`: a case moving to another council (chosen at the start by
its identifier; its Designated Administrator emailed at once at the address the deployment
gives it; CAFCASS told when it moves), a case arriving from another council once its documents
are here, and a closure with the Business Support audit after it. Our side's steps, clocks and
escalation run as for a move between teams; nobody here allocates a worker to a case that has
closed or left. Dates: the first Monday of June next year (no bank holiday or clock change
near), due times counted by hand.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from api.starting import start_problem
from models.external_addresses import ExternalAddresses, load_external_addresses
from models.protocol_files import ProtocolFileError, load_protocol
from models.transfer import DeadlineStatus, Stage
from ops.demo import seed_demo_directory
from tests.conftest import ADDRESSES
from tests.scenario import deadline, expect_mail, settled
from tests.test_engine_capabilities import TESTSHIRE, at_17, opened
from tests.transfers import events, eventually, keep_history, outbox, skip_to

T = "testshire"
NORTH = "front-door@northshire.example"
CAFCASS = "cafcass-testshire@cafcass.example"


@pytest.fixture(autouse=True)
def testshire_staff(directory_engine):
    seed_demo_directory(directory_engine, {T: TESTSHIRE})


def headlines(mailbox, address: str) -> list[str]:
    return sorted(re.sub(r"^\[testshire\] Case C1: ", "", s) for s in mailbox.subjects(address))


# ----- a case moving to another council --------------------------------------------------------

async def test_a_case_moves_out_and_the_other_council_is_told_at_once(ts_env, worker, mailbox,
                                                                      directory_engine):
    s, view = await opened(ts_env, worker, "transfer-out",
                           externals={"other_authority": "northshire"})
    assert view.externals == {"other_authority": "northshire"}
    assert (view.from_team, view.to_team) == ("alpha", "other_authority")
    # At once: the other council's Designated Administrator, at its configured address, and
    # our Team Manager; the southshire address is never used.
    await eventually(lambda: headlines(mailbox, NORTH),
                     ["transfer proposed to your team"].__eq__)
    assert mailbox.subjects("front-door@southshire.example") == []
    rows = [r for r in outbox(directory_engine, view.run_id) if r.seq == 1]
    assert {(r.recipient_id, r.recipient_role, r.email) for r in rows} == {
        ("external:other_authority:northshire", "designated_administrator", NORTH),
        ("testshire-alpha-tm", "team_manager", "testshire-alpha-tm@testshire.example")}

    await s.act("referral-sent", "alpha-sw")
    view = await s.act("accepted", "alpha-tm")
    assert view.stage is Stage.closed  # nothing left to run: nobody here allocates
    assert view.responsible_team == "other_authority"
    assert deadline(view, "moved_by").status is DeadlineStatus.met
    kinds = [e.kind for e in events(directory_engine, view.run_id)]
    assert kinds[-2:] == ["transferred", "closed"]
    assert events(directory_engine, view.run_id)[-2].summary.startswith(
        "Case transferred to other_authority (northshire) as every required step is done")
    # One email per organisation per change, at its own address.
    await eventually(lambda: headlines(mailbox, CAFCASS),
                     ["case transferred to other_authority (northshire)"].__eq__)
    await eventually(lambda: headlines(mailbox, NORTH), [
        "case transferred to other_authority (northshire)",
        "transfer proposed to your team"].__eq__)
    await keep_history(s.handle, "engine/transfer-out")


async def test_a_move_out_not_made_in_time_escalates_here_and_tells_the_other_council(
        ts_env, worker, mailbox):
    s, view = await opened(ts_env, worker, "transfer-out",
                           externals={"other_authority": "northshire"})
    # Ten working days from Monday 09:00: Tue .. Mon a fortnight on, 17:00.
    due = at_17(view.anchor_at.date() + timedelta(days=14))
    assert deadline(view, "moved_by").due_at == due
    await s.act("referral-sent", "alpha-sw")
    await skip_to(ts_env, due + timedelta(minutes=1))
    await settled(s, lambda v: deadline(v, "moved_by").status is DeadlineStatus.missed)
    missed = "deadline missed: Case moved within 10 working days of the move becoming known"
    await expect_mail(mailbox, T, {"alpha-tm": ["transfer proposed to your team"],
                                   "alpha-sm": [missed]}, protocol=TESTSHIRE)
    await eventually(lambda: headlines(mailbox, NORTH),
                     sorted([missed, "transfer proposed to your team"]).__eq__)


def test_the_other_council_is_named_at_the_start_from_the_configured_list():
    def problem(externals: dict[str, str], addresses: ExternalAddresses = ADDRESSES) -> str:
        return start_problem(TESTSHIRE, "transfer-out", {}, {}, externals, addresses) or ""

    assert problem({"other_authority": "northshire"}) == ""
    assert problem({}) == ("Name the organisation for the other local authority in "
                           "'externals' (other_authority: one of northshire, southshire)")
    assert problem({"other_authority": "westshire"}) == (
        "No address is configured for 'westshire' as the other local authority of "
        "testshire (known: northshire, southshire)")
    assert problem({"cafcass": "x"}).startswith(
        "Pathway transfer-out names no such organisation at the start")
    assert problem({"other_authority": "northshire"}, ExternalAddresses()).startswith(
        "No address is configured for 'northshire'")


# ----- a case arriving from another council ----------------------------------------------------

async def test_a_case_arrives_once_its_documents_are_here(ts_env, worker, mailbox):
    s, view = await opened(ts_env, worker, "transfer-in", by="beta-tm",
                           externals={"other_authority": "southshire"})
    refused = await s.refused("record-documents", "alpha-tm",
                              items=["single_assessment", "plan", "chronology", "genogram"])
    assert refused[0] == "NotPermitted"
    view = await s.act("record-documents", "beta-tm",
                       items=["single_assessment", "plan", "chronology", "genogram"])
    assert view.stage is Stage.transferred and view.responsible_team == "beta"
    view = await s.act("allocate", "beta-tm", worker_id="W9")
    assert view.stage is Stage.closed and view.allocated_worker == "W9"
    await keep_history(s.handle, "engine/transfer-in")
    await eventually(lambda: headlines(mailbox, "front-door@southshire.example"),
                     ["transfer proposed to your team"].__eq__)


async def test_documents_late_from_the_other_council_are_chased_on_both_sides(
        ts_env, worker, mailbox):
    s, view = await opened(ts_env, worker, "transfer-in", by="beta-tm",
                           externals={"other_authority": "southshire"})
    due = at_17(view.anchor_at.date() + timedelta(days=7))  # five working days: next Monday
    assert deadline(view, "documents_by").due_at == due
    await skip_to(ts_env, due + timedelta(minutes=1))
    await settled(s, lambda v: deadline(v, "documents_by").status is DeadlineStatus.missed)
    missed = "deadline missed: Documents received within 5 working days of the request"
    await expect_mail(mailbox, T, {"beta-tm": sorted(["transfer proposed to your team", missed])},
                      protocol=TESTSHIRE)
    await eventually(lambda: headlines(mailbox, "front-door@southshire.example"),
                     sorted(["transfer proposed to your team", missed]).__eq__)


# ----- closure ---------------------------------------------------------------------------------

async def test_a_case_closes_and_business_support_audits_it(ts_env, worker, mailbox,
                                                            directory_engine):
    s, view = await opened(ts_env, worker, "closure", by="alpha-sw")
    assert (view.from_team, view.to_team) == ("alpha", "alpha")
    assert (await s.refused("authorise-closure", "alpha-tm"))[0] == "WrongStage"  # summary first
    await s.act("complete-closure-summary", "alpha-sw",
                items=["closure_summary_added", "recording_up_to_date"])
    view = await s.act("authorise-closure", "alpha-tm")
    assert view.stage is Stage.transferred and view.responsible_team == "alpha"
    assert view.waiting_for == [f"Business Support audit of the closed file, due "
                                f"{deadline(view, 'audit').due_local}"]
    assert deadline(view, "audit").due_at == at_17(view.anchor_at.date() + timedelta(days=7))
    assert (await s.refused("allocate", "alpha-tm", worker_id="W1"))[0] == "WrongStage"
    closed = [e for e in events(directory_engine, view.run_id) if e.kind == "case_closed"]
    assert [e.summary for e in closed] == ["Case closed by alpha as every required step is done"]
    view = await s.act("record-audit", "bs")
    assert view.stage is Stage.closed
    await keep_history(s.handle, "engine/closure")
    await expect_mail(mailbox, T, {"alpha-tm": ["case closed"], "bs": ["case closed"]},
                      protocol=TESTSHIRE)


async def test_a_closure_not_authorised_in_time_goes_to_the_service_manager(
        ts_env, worker, mailbox):
    s, view = await opened(ts_env, worker, "closure", by="alpha-sw")
    due = deadline(view, "closed_by").due_at
    assert due == at_17(view.anchor_at.date() + timedelta(days=7))
    await skip_to(ts_env, due + timedelta(minutes=1))
    await settled(s, lambda v: deadline(v, "closed_by").status is DeadlineStatus.missed)
    await expect_mail(mailbox, T, {
        "alpha-sm": ["deadline missed: Closed within 5 working days of the proposal"]},
        protocol=TESTSHIRE)


# ----- a notice to another council: the case stays ---------------------------------------------

async def test_a_placement_notice_completes_and_the_case_stays_here(ts_env, worker, mailbox,
                                                                    directory_engine):
    s, view = await opened(ts_env, worker, "placement-notice", by="alpha-sw",
                           externals={"other_authority": "southshire"})
    assert (await s.refused("allocate", "alpha-tm", worker_id="W1"))[0] == "WrongStage"
    view = await s.act("letter-sent", "bs")
    assert view.stage is Stage.closed and view.responsible_team == "alpha"
    assert [e.summary for e in events(directory_engine, view.run_id) if e.kind == "completed"] \
        == ["Complete as every required step is done; the case stays with alpha"]
    done = "complete: Another council told of a child placed in its area; the case stays here"
    await expect_mail(mailbox, T, {"bs": ["transfer proposed to your team"], "alpha-tm": [done]},
                      protocol=TESTSHIRE)
    await eventually(lambda: headlines(mailbox, "front-door@southshire.example"),
                     [done].__eq__)
    await keep_history(s.handle, "engine/placement-notice")


async def test_a_placement_letter_not_sent_in_time_is_chased(ts_env, worker, mailbox):
    s, view = await opened(ts_env, worker, "placement-notice", by="alpha-sw",
                           externals={"other_authority": "southshire"})
    due = at_17(view.anchor_at.date() + timedelta(days=7))
    assert deadline(view, "letter_by").due_at == due
    await skip_to(ts_env, due + timedelta(minutes=1))
    await settled(s, lambda v: deadline(v, "letter_by").status is DeadlineStatus.missed)
    missed = "deadline missed: Letter sent within 5 working days of the placement"
    await expect_mail(mailbox, T, {"bs": sorted(["transfer proposed to your team", missed]),
                                   "alpha-tm": [missed]}, protocol=TESTSHIRE)
    assert mailbox.subjects("front-door@southshire.example") == []


# ----- protocol files that cannot say it -------------------------------------------------------

@pytest.mark.parametrize(("edit", "problem"), [
    (("        by: team_manager@from\n        after: [referral_sent]",
      "        by: team_manager@to\n        after: [referral_sent]"),
     "pathways.transfer-out.gates.accepted.by[0]: The other local authority, which is outside "
     "the council: nobody in the directory acts for it"),
    (("    transfer: {when: gates, requires: [documents]}\n    allocation: {by: team_manager@to}",
      "    transfer: {when: gates, requires: [documents]}"),
     "pathways.transfer-in.allocation.by: is required"),
    (("    from: alpha\n    closes: true", "    from: alpha\n    closes: true\n    to: beta"),
     "pathways.closure: to: a pathway that closes the case has no receiving team"),
    (("    to: other_authority\n    stays: true", "    to: other_authority\n    stays: true\n"
      "    allocation: {by: team_manager@from}"),
     "pathways.placement-notice: allocation: the case is not allocated here when it stays"),
    (("    gates:\n      referral_sent:",
      "    raise_dispute: {by: team_manager@from, ladder: two_days}\n    gates:\n"
      "      referral_sent:"),
     "pathways.transfer-out: its dispute ladder 'two_days' has a level on the 'to' side, which "
     "is outside the council"),
    (("  cafcass: {title: CAFCASS}", "  cafcass: {title: CAFCASS}\n  delta: {title: Delta}"),
     "externals.delta: has the name of a team"),
])
def test_a_protocol_that_misuses_an_external_party_is_refused_by_field(tmp_path: Path, edit,
                                                                        problem):
    text = (Path(__file__).parent / "protocols" / "testshire.yaml").read_text()
    assert edit[0] in text
    path = tmp_path / "testshire.yaml"
    path.write_text(text.replace(edit[0], edit[1], 1))
    with pytest.raises(ProtocolFileError) as error:
        load_protocol(path)
    assert problem in str(error.value) and str(path) in str(error.value)


def test_the_address_list_names_file_and_field_when_it_is_wrong(tmp_path: Path):
    path = tmp_path / "external-addresses.yaml"
    path.write_text("testshire:\n  cafcass: not-an-address\n")
    with pytest.raises(ProtocolFileError) as error:
        load_external_addresses(path)
    assert str(path) in str(error.value) and "testshire.cafcass" in str(error.value)
