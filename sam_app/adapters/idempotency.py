"""Idempotent job submission on Powertools' idempotency utility, in both worlds.

The persistence layer decides where records live: DynamoDB (IdempotencyTable) in
AWS, SQLite locally. The key is the client's Idempotency-Key; the request body is
the validated payload, so the same key with a different body is refused.
"""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer

from sdaws.contract.errors import Conflict

KEEP_SECONDS = 24 * 3600
# A submission that crashed half way frees its key after this long instead of a day.
IN_PROGRESS_MS = 60_000


class _Deadline:
    """Stands in for a Lambda context: how long an in-progress record may hold its key."""

    def get_remaining_time_in_millis(self) -> int:
        return IN_PROGRESS_MS


class PowertoolsIdempotency:
    def __init__(self, persistence: BasePersistenceLayer, keep_seconds: int = KEEP_SECONDS) -> None:
        config = IdempotencyConfig(
            event_key_jmespath="key",
            payload_validation_jmespath="payload",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=keep_seconds,
        )
        config.register_lambda_context(_Deadline())
        self._once = idempotent_function(
            self._call,
            data_keyword_argument="request",
            persistence_store=persistence,
            config=config,
            key_prefix="sdaws.jobs.submit",
        )

    @staticmethod
    def _call(request: dict, create: Callable[[], dict], ran: list) -> dict:
        ran.append(True)
        return create()

    def run_once(self, key: str, payload: dict, create: Callable[[], dict]) -> tuple[dict, bool]:
        ran: list = []
        try:
            result = self._once(request={"key": key, "payload": payload}, create=create, ran=ran)
        except IdempotencyValidationError:
            raise Conflict(
                "this Idempotency-Key was already used for a different request; send a new key for a new job"
            ) from None
        except IdempotencyAlreadyInProgressError:
            raise Conflict("a request with this Idempotency-Key is still being processed; retry in a moment") from None
        return result, bool(ran)
