"""Connecting to Temporal and preparing its namespace (search attributes, retention)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import temporalio.api.enums.v1 as enums
import temporalio.api.namespace.v1 as namespace
import temporalio.api.operatorservice.v1 as operator
import temporalio.api.workflowservice.v1 as workflowservice
from google.protobuf.duration_pb2 import Duration
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError

from config import Settings
from models import search_attributes as sa

log = logging.getLogger(__name__)


async def connect(settings: Settings, *, attempts: int = 60) -> Client:
    """Connect, waiting for the server to come up (it may start alongside us)."""
    for attempt in range(1, attempts + 1):
        try:
            return await Client.connect(settings.temporal_address,
                                        namespace=settings.temporal_namespace,
                                        data_converter=pydantic_data_converter)
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


async def prepare_namespace(client: Client, settings: Settings) -> None:
    await register_search_attributes(client)
    await keep_closed_transfers(client, settings.temporal_retention_days)
