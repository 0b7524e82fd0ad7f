"""Connecting to Temporal and preparing its namespace (search attributes, retention, schedules)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import temporalio.api.enums.v1 as enums
import temporalio.api.namespace.v1 as namespace
import temporalio.api.operatorservice.v1 as operator
import temporalio.api.workflowservice.v1 as workflowservice
from google.protobuf.duration_pb2 import Duration
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
    TLSConfig,
)
from temporalio.service import RPCError

from config import Settings
from models import search_attributes as sa
from models.protocol import Protocol
from payload_codec import data_converter, keys_from_settings
from workflows.weekly_meeting import WeeklyMeetingInput, WeeklyMeetingWorkflow

log = logging.getLogger(__name__)


def tls_config(settings: Settings) -> TLSConfig | bool:
    """The connection's TLS: False (plain) only where the settings allow it (config.py)."""
    if not settings.temporal_uses_tls:
        return False

    def read(path: Path | None) -> bytes | None:
        return path.read_bytes() if path is not None else None

    return TLSConfig(server_root_ca_cert=read(settings.temporal_tls_server_ca_file),
                     client_cert=read(settings.temporal_tls_client_cert_file),
                     client_private_key=read(settings.temporal_tls_client_key_file),
                     domain=settings.temporal_tls_server_name)


async def connect(settings: Settings, *, attempts: int = 60) -> Client:
    """Connect, waiting for the server to come up (it may start alongside us).

    Every payload the client sends is encrypted with the configured keys (payload_codec)."""
    converter = data_converter(keys_from_settings(settings))
    tls = tls_config(settings)
    api_key = settings.temporal_api_key
    for attempt in range(1, attempts + 1):
        try:
            return await Client.connect(settings.temporal_address,
                                        namespace=settings.temporal_namespace,
                                        data_converter=converter, tls=tls,
                                        api_key=api_key.get_secret_value() if api_key else None)
        except RuntimeError:
            if attempt == attempts:
                raise
            log.info("waiting for Temporal at %s", settings.temporal_address)
            await asyncio.sleep(1)
    raise AssertionError("unreachable")


async def register_search_attributes(client: Client) -> None:
    """Register the project's search attributes; already-registered ones are left alone."""
    wanted = {key.name: enums.IndexedValueType.ValueType(key.indexed_value_type)
              for key in sa.ALL}
    try:
        listed = await client.operator_service.list_search_attributes(
            operator.ListSearchAttributesRequest(namespace=client.namespace))
        wanted = {k: v for k, v in wanted.items() if k not in listed.custom_attributes}
    except RPCError:
        pass  # the time-skipping test server cannot list; adding is idempotent enough there
    if wanted:
        await client.operator_service.add_search_attributes(operator.AddSearchAttributesRequest(
            namespace=client.namespace, search_attributes=wanted))
        log.info("registered search attributes: %s", ", ".join(sorted(wanted)))


async def keep_closed_transfers(client: Client, days: int) -> None:
    """Keep closed transfers visible in the UI for `days` (the dev server's default is 1)."""
    await client.workflow_service.update_namespace(workflowservice.UpdateNamespaceRequest(
        namespace=client.namespace,
        config=namespace.NamespaceConfig(workflow_execution_retention_ttl=Duration(
            seconds=int(timedelta(days=days).total_seconds()))),
    ))


# Temporal's day_of_week: 0 is Sunday.
DAY_OF_WEEK = {"monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4, "friday": 5}
# The run starts early on the meeting day (London time) and waits for the papers-due time.
MEETING_RUN_AT = (0, 5)
# A run ends before the next week's start, so a stuck run (e.g. mail down) never makes the
# schedule skip a week; undelivered outbox rows stay for the sweep. The same window bounds
# catch-up after an outage: a late run still prepares its own week's meeting (idempotently).
MEETING_RUN_LIMIT = timedelta(days=6)


def weekly_meeting_id(authority: str) -> str:
    """The Schedule's id, and the id (before the server's time suffix) of every run."""
    return f"weekly-meeting-{authority}"


def weekly_meeting_schedule(protocol: Protocol, task_queue: str) -> Schedule:
    """Every week on the meeting weekday at 00:05 London time, start WeeklyMeetingWorkflow."""
    meeting = protocol.weekly_meeting
    if meeting is None:
        raise ValueError(f"{protocol.authority} has no weekly_meeting")
    hour, minute = MEETING_RUN_AT
    return Schedule(
        action=ScheduleActionStartWorkflow(
            WeeklyMeetingWorkflow.run,
            WeeklyMeetingInput.for_protocol(protocol),
            id=weekly_meeting_id(protocol.authority),
            task_queue=task_queue,
            execution_timeout=MEETING_RUN_LIMIT,
            static_summary=f"{meeting.title}: {protocol.authority} (weekly, {meeting.weekday})",
        ),
        spec=ScheduleSpec(
            calendars=[ScheduleCalendarSpec(
                second=(ScheduleRange(0),), minute=(ScheduleRange(minute),),
                hour=(ScheduleRange(hour),), day_of_week=(ScheduleRange(
                    DAY_OF_WEEK[meeting.weekday]),),
                comment=f"{meeting.title}: every {meeting.weekday}, papers due "
                        f"{meeting.papers_due:%H:%M}",
            )],
            time_zone_name=protocol.calendar.timezone,
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP,
                              catchup_window=MEETING_RUN_LIMIT),
    )


async def register_weekly_meetings(client: Client, protocols: Mapping[str, Protocol],
                                   task_queue: str) -> list[str]:
    """Create, or bring up to date, the Schedule of every protocol's weekly meeting.

    Safe on every worker start: an existing schedule is updated in place, keeping its
    state (an operator's pause and note survive a restart). Returns the schedule ids.
    """
    ids: list[str] = []
    for authority in sorted(protocols):
        protocol = protocols[authority]
        if protocol.weekly_meeting is None:
            continue
        schedule_id = weekly_meeting_id(authority)
        wanted = weekly_meeting_schedule(protocol, task_queue)
        try:
            await client.create_schedule(schedule_id, wanted)
            log.info("created schedule %s", schedule_id)
        except ScheduleAlreadyRunningError:
            def keep_state(current: ScheduleUpdateInput, wanted: Schedule = wanted
                           ) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=Schedule(
                    action=wanted.action, spec=wanted.spec, policy=wanted.policy,
                    state=current.description.schedule.state))

            await client.get_schedule_handle(schedule_id).update(keep_state)
            log.info("updated schedule %s", schedule_id)
        ids.append(schedule_id)
    return ids


async def prepare_namespace(client: Client, settings: Settings,
                            protocols: Mapping[str, Protocol]) -> None:
    await register_search_attributes(client)
    await keep_closed_transfers(client, settings.temporal_retention_days)
    await register_weekly_meetings(client, protocols, settings.temporal_task_queue)
