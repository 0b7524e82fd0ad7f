"""Nottingham's dispute ladder (seed 002), to the minute: Service Managers 24 h, Heads of
Service a further 24 h, then the Director is told the 48-hour limit was breached."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from models.transfer import Stage, TransferView
from tests.scenario import Scenario, mail
from tests.transfers import eventually, skip_to

N = "nottingham"


async def disputed(ts_env, worker) -> tuple[Scenario, TransferView]:
    s = Scenario(ts_env.client, worker, N, "fieldwork-to-cic")
    await s.open(await ts_env.get_current_time())
    await s.act("confirm-receipt", "cic-tm")
    await s.act("record-joint-visit", "fieldwork-sw")
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
    assert not any("escalated" in x for x in mailbox.subjects(mail(N, "hos-1")))

    await skip_to(ts_env, started + timedelta(hours=24) + timedelta(minutes=1))
    await eventually(lambda: mailbox.subjects(mail(N, "hos-1")),
                     lambda got: any("dispute escalated to you" in x for x in got))
    view = await s.view()
    assert view.escalation_level == 2 and view.responsible_team == "fieldwork"
    assert view.dispute is not None
    assert view.dispute.level_due_at == started + timedelta(hours=48)

    await skip_to(ts_env, started + timedelta(hours=48) - timedelta(minutes=1))
    assert mailbox.to(mail(N, "director")) == []
    await skip_to(ts_env, started + timedelta(hours=48) + timedelta(minutes=1))
    await eventually(lambda: mailbox.subjects(mail(N, "director")),
                     lambda got: any("not resolved within 48 hours" in x for x in got))
    view = await s.view()
    assert (view.escalation_level, view.stage, view.responsible_team) == (
        3, Stage.disputed, "fieldwork")


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
    await eventually(lambda: mailbox.subjects(mail(N, "hos-2")), lambda got: bool(got))
    kind, _ = await s.refused("resolve-dispute", "cic-sm", resolution="decline", note="x")
    assert kind == "NotPermitted"  # the Service Managers' level has passed
    view = await s.act("resolve-dispute", "hos-2", resolution="redirect", to_team="tfst",
                       note="Needs targeted family support instead")
    assert (view.stage, view.redirected_to, view.responsible_team) == (
        Stage.redirected, "tfst", "fieldwork")
    await eventually(lambda: mailbox.subjects(mail(N, "tfst-tm")),
                     lambda got: any("dispute resolved" in x for x in got))
