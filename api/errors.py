"""Turning Temporal's answers into HTTP answers a manager can read."""

from __future__ import annotations

from fastapi import HTTPException, status
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

REJECTION_STATUS = {
    "WrongStage": status.HTTP_409_CONFLICT,
    "NotPermitted": status.HTTP_403_FORBIDDEN,
    "InvalidInput": status.HTTP_422_UNPROCESSABLE_CONTENT,
    "AcceptedUpdateCompletedWorkflow": status.HTTP_409_CONFLICT,
}


def http_error(exc: Exception) -> HTTPException:
    if isinstance(exc, WorkflowUpdateFailedError):
        cause = exc.cause
        if isinstance(cause, ApplicationError) and cause.type in REJECTION_STATUS:
            return HTTPException(REJECTION_STATUS[cause.type], cause.message)
        return HTTPException(status.HTTP_409_CONFLICT,
                             f"The action was not taken: {getattr(cause, 'message', cause)}")
    if isinstance(exc, WorkflowUpdateRPCTimeoutOrCancelledError):
        return HTTPException(status.HTTP_504_GATEWAY_TIMEOUT,
                             "The transfer did not answer in time. Send the same request again "
                             "with the same Idempotency-Key: it will act at most once.")
    if isinstance(exc, RPCError):
        if exc.status is RPCStatusCode.NOT_FOUND:
            return HTTPException(status.HTTP_409_CONFLICT,
                                 "This transfer is closed: no more actions can be taken on it")
        return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                             "The workflow service is unavailable; try again shortly")
    raise exc
