"""Nottingham's dispute ladder (seed 002), to the minute: Service Managers 24 h, the relevant
Heads of Service (of the teams' service) a further 24 h, then told the 48-hour limit was
breached."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from zoneinfo import ZoneInfo

from models.transfer import Stage, TransferView
from tests.scenario import Scenario, mail
from tests.transfers import eventually, skip_to

N = "nottingham"
HOS = "childrens_social_care-hos"  # Fieldwork's and Children in Care's Head of Service


async def disputed(ts_env, worker) -> tuple[Scenario, TransferView]:
    s = Scenario(ts_env.client, worker, N, "fieldwork-to-cic")
    now = await ts_env.get_current_time()
    await s.open(now)
    await s.act("confirm-receipt", "cic-tm")
    await s.act("record-order-granted", "fieldwork-tm",
                date=now.astimezone(ZoneInfo("Europe/London")).date())
    await s.act("record-joint-visit", "fieldwork-sw")
    await s.act("complete-checklist", "fieldwork-tm",
                items=s.pathway.gates["checklist"].items)
    await s.act("initiate", "fieldwork-tm")
    view = await s.act("dispute", "cic-tm", note="Not ready: no care plan on file")
    return s, view


async def test_ladder_escalates_at_24_and_48_hours_to_the_minute(ts_env, worker, mailbox):
    s, view = await disputed(ts_env, worker)
    assert (view.stage, view.responsible_team, view.escalation_level) == (
        Stage.disputed, "fieldwork", 1)
    assert view.dispute is not None
    started = view.dispute.started_at
    assert view.dispute.level_due_at == started + timedelta(hours=24)
    for sm in ("fieldwork-sm", "cic-sm"):
        subjects = await eventually(partial(mailbox.subjects, mail(N, sm)), bool)
        assert any("dispute referred to you" in x for x in subjects)
    # Acknowledging does not stop the ladder.
    await s.act("acknowledge-dispute", "cic-sm")

    await skip_to(ts_env, started + timedelta(hours=24) - timedelta(minutes=1))
    assert (await s.view()).escalation_level == 1
    assert not any("escalated" in x for x in mailbox.subjects(mail(N, HOS)))

    await skip_to(ts_env, started + timedelta(hours=24) + timedelta(minutes=1))
    await eventually(lambda: mailbox.subjects(mail(N, HOS)),
                     lambda got: any("dispute escalated to you" in x for x in got))
    view = await s.view()
    assert view.escalation_level == 2 and view.responsible_team == "fieldwork"
    assert view.dispute is not None
    assert view.dispute.level_due_at == started + timedelta(hours=48)

    await skip_to(ts_env, started + timedelta(hours=48) - timedelta(minutes=1))
    assert not any("not resolved" in x for x in mailbox.subjects(mail(N, HOS)))
    await skip_to(ts_env, started + timedelta(hours=48) + timedelta(minutes=1))
    await eventually(lambda: mailbox.subjects(mail(N, HOS)),
                     lambda got: any("not resolved within 48 hours" in x for x in got))
    view = await s.view()
    assert (view.escalation_level, view.stage, view.responsible_team) == (
        2, Stage.disputed, "fieldwork")
    # No level the seed does not name: the Director and the other Heads of Service hear nothing.
    assert [mailbox.to(mail(N, who)) for who in ("director", "hos-1", "hos-2")] == [[], [], []]


async def test_only_current_level_or_above_resolves(ts_env, worker, mailbox):
    s, _ = await disputed(ts_env, worker)
    kind, message = await s.refused("resolve-dispute", "cic-tm", resolution="proceed",
                                    note="x")
    assert kind == "NotPermitted" and "at or above" in message
    kind, message = await s.refused("resolve-dispute", "cic-sm", resolution="proceed")
    assert kind == "InvalidInput" and "Say why" in message
    view = await s.act("resolve-dispute", "fieldwork-sm", resolution="proceed",
                       note="Agreed at SM discussion")
    assert view.dispute is None and view.stage is Stage.transferred
    assert view.responsible_team == "cic"


async def test_heads_of_service_redirect_after_escalation(ts_env, worker, mailbox):
    s, view = await disputed(ts_env, worker)
    assert view.dispute is not None
    await skip_to(ts_env, view.dispute.started_at + timedelta(hours=25))
    await eventually(lambda: mailbox.subjects(mail(N, HOS)), lambda got: bool(got))
    kind, _ = await s.refused("resolve-dispute", "cic-sm", resolution="decline", note="x")
    assert kind == "NotPermitted"  # the Service Managers' level has passed
    view = await s.act("resolve-dispute", HOS, resolution="redirect", to_team="tfst",
                       note="Needs targeted family support instead")
    assert (view.stage, view.redirected_to, view.responsible_team) == (
        Stage.redirected, "tfst", "fieldwork")
    await eventually(lambda: mailbox.subjects(mail(N, "tfst-tm")),
                     lambda got: any("dispute resolved" in x for x in got))
