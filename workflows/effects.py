"""The workflow's effects: planning due times, recording a change, publishing it to operators.

Every part of the transfer workflow (clocks, disputes, the transfer, gates)
builds on this base: it owns the `TransferState` and the only calls out of the
workflow, to the planner and to the case store (and through it, the outbox).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from models import search_attributes as sa
    from models.protocol import RoleRef, Side
    from models.transfer import (
        Actor,
        ChangeRecord,
        DeliveryRequest,
        ExternalRecipient,
        Notice,
        PlanDate,
        PlanInstant,
        PlanItem,
        PlanRequest,
        PlanResult,
        TeamRole,
        TransferView,
    )
    from workflows.rules import Refusal, teams_for
    from workflows.state import TransferState
    from workflows.wording import current_details, notice

STORE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1),
                          maximum_interval=timedelta(minutes=1))
# A local activity retries inside its workflow task until its back-off reaches this, then by
# a durable timer: a store outage holds a transfer's workflow task for seconds, not a minute.
LOCAL_RETRY_THRESHOLD = timedelta(seconds=5)
MAIL_RETRY = RetryPolicy(initial_interval=timedelta(seconds=5),
                         maximum_interval=timedelta(minutes=10))
# workflow.patched: record and plan as local activities, search attributes upserted only when
# they change (fewer history events per change; see docs/BENCHMARKS.md). Histories from
# before it replay on the old path.
LEAN_HISTORY = "lean-history"


@contextlib.contextmanager
def refusals() -> Iterator[None]:
    """Turn a rule's refusal into the Update's failure (the API maps its type to a status)."""
    try:
        yield
    except Refusal as refusal:
        raise ApplicationError(refusal.message, type=refusal.kind,
                               non_retryable=True) from None


class Effects:
    s: TransferState
    wake: bool
    deliveries: list[Any]
    published: list[Any] | None

    # Defined by the parts built on this base (workflows/transferring.py), called by others.
    async def _transfer(self, by_action: bool, forced_by: str | None = None) -> None:
        raise NotImplementedError

    async def _advance(self, by_action: bool = False) -> None:
        raise NotImplementedError

    def _now(self) -> datetime:
        return workflow.now()

    def _view(self) -> TransferView:
        info = workflow.info()
        return self.s.view(info.workflow_id, info.run_id)

    def _notice(self, to: list[RoleRef], headline: str, detail: str = "") -> Notice:
        message = notice(self._view(), to, headline, detail)
        # Roles in a named team (a party, or e.g. the adoption team) go by team; a side's
        # roles may also be held at its service's level; an organisation outside the council
        # goes by the address the deployment gives it.
        pathway = self.s.pathway
        outside = [ref for ref in to if pathway.external(ref)]
        named = [ref for ref in to if ref.side is Side.party and ref not in outside]
        if named or outside:
            message.to = [ref for ref in to if ref.side is not Side.party and ref not in outside]
            message.also = [TeamRole(role=ref.role, team=team) for ref in named
                            for team in teams_for(ref, pathway, self.s.parties) or []]
            message.outside = [
                ExternalRecipient(external=name, organisation=self.s.inp.externals.get(name),
                                  role=ref.role)
                for ref in outside if (name := pathway.external(ref))]
        message.services = {team: service for team, service in pathway.services.items()
                             if team in (pathway.sending, pathway.receiving)}
        return message

    def _notices(self, to: list[RoleRef], headline: str, detail: str = "") -> list[Notice]:
        return [self._notice(to, headline, detail)] if to else []

    def _lean(self) -> bool:
        return workflow.patched(LEAN_HISTORY)

    async def _plan(self, items: list[PlanItem], dates: list[PlanDate] | None = None,
                    instants: list[PlanInstant] | None = None) -> PlanResult:
        request = PlanRequest(calendar=self.s.calendar_spec, resolved=self.s.calendar,
                              items=items, dates=dates or [], instants=instants or [])
        summary = "Plan due times on the protocol's calendar"
        result: PlanResult
        if self._lean():
            result = await workflow.execute_local_activity(
                "plan_deadlines", request, result_type=PlanResult, summary=summary,
                start_to_close_timeout=timedelta(seconds=15), retry_policy=STORE_RETRY,
                local_retry_threshold=LOCAL_RETRY_THRESHOLD)
        else:
            result = await workflow.execute_activity(
                "plan_deadlines", request, result_type=PlanResult, summary=summary,
                start_to_close_timeout=timedelta(seconds=15), retry_policy=STORE_RETRY)
        self.s.calendar = result.resolved or self.s.calendar
        return result

    async def _record(self, kind: str, summary: str, *, actor: Actor | None = None,
                      note_ref: str | None = None, notices: list[Notice] | None = None) -> None:
        """Write one change to the case store, then show it in the UI and send its emails."""
        self.s.seq += 1
        info = workflow.info()
        change = ChangeRecord(
            transfer_id=info.workflow_id, run_id=info.run_id, seq=self.s.seq,
            at=workflow.now(), kind=kind, summary=summary, actor=actor, note_ref=note_ref,
            view=self._view(), notices=notices or [],
        )
        summary = f"Record: {kind}"[:190]
        if self._lean():
            # Local: no task queue round trip and one marker in the history instead of an
            # activity's three events and a workflow task; a retry after a crash writes
            # nothing twice (the store is idempotent on run and seq).
            await workflow.execute_local_activity(
                "record_change", change, start_to_close_timeout=timedelta(seconds=15),
                retry_policy=STORE_RETRY, local_retry_threshold=LOCAL_RETRY_THRESHOLD,
                summary=summary)
        else:
            await workflow.execute_activity(
                "record_change", change, start_to_close_timeout=timedelta(seconds=15),
                retry_policy=STORE_RETRY, summary=summary)
        self._publish(change.view)
        if change.notices:
            self.deliveries.append(workflow.start_activity(
                "deliver_notifications", DeliveryRequest(run_id=info.run_id, seq=self.s.seq),
                start_to_close_timeout=timedelta(minutes=2), retry_policy=MAIL_RETRY,
                heartbeat_timeout=timedelta(seconds=15), summary=f"Email: {kind}"[:190],
            ))

    def _publish(self, view: TransferView) -> None:
        upcoming = view.next_deadline
        values = [view.stage.value, view.responsible_team, view.overdue,
                  view.escalation_level, upcoming.due_at if upcoming else None]
        if values != self.published or not self._lean():
            workflow.upsert_search_attributes([
                sa.STAGE.value_set(view.stage.value),
                sa.RESPONSIBLE_TEAM.value_set(view.responsible_team),
                sa.OVERDUE.value_set(view.overdue),
                sa.ESCALATION_LEVEL.value_set(view.escalation_level),
                sa.NEXT_DEADLINE.value_set(upcoming.due_at) if upcoming
                else sa.NEXT_DEADLINE.value_unset(),
            ])
            self.published = values
        workflow.set_current_details(current_details(view))
