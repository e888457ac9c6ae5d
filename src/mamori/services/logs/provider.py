"""Amazon CloudWatch Logs: the provider, assembled from one mixin per resource family.

    groups.py     log groups, retention (scheduler job), KMS association, tags,
                  deletion protection, log streams
    events.py     PutLogEvents, GetLogEvents, FilterLogEvents, GetLogRecord
    filters.py    metric filters (+ publishing to CloudWatch), subscription filters
    policies.py   resource policies, data protection policies, export tasks
    destinations.py  subscription destinations, account policies, index policies
    deliveries.py    vended-log deliveries, log anomaly detectors (stored)
    transformers.py  log transformers (stored; TestTransformer runs a processor subset)
    integrations.py  OpenSearch integrations (stored)
    encryption.py    KMS encryption at rest of log groups with a KMS key
    patterns.py   the filter pattern language
    masking.py    data identifiers and masking
    queries.py    Logs Insights operations (QueryOperations; built separately)
Events live in the telemetry store (store/logs.py), everything else in the resource store.
"""

from __future__ import annotations

from mamori.services.base import Provider
from mamori.services.logs.deliveries import DeliveryOperations
from mamori.services.logs.destinations import DestinationOperations
from mamori.services.logs.events import EventOperations
from mamori.services.logs.filters import FilterOperations
from mamori.services.logs.groups import GroupOperations
from mamori.services.logs.integrations import IntegrationOperations
from mamori.services.logs.policies import PolicyOperations
from mamori.services.logs.transformers import TransformerOperations
from mamori.store import logs as events_store

try:
    from mamori.services.logs.queries import QueryOperations
except ImportError:  # Logs Insights not there yet
    class QueryOperations:  # type: ignore[no-redef]
        pass


RETENTION_SWEEP = 3600.0  # seconds of clock time between retention sweeps


class LogsProvider(QueryOperations, GroupOperations, EventOperations, FilterOperations, PolicyOperations,
                   DestinationOperations, DeliveryOperations,
                   TransformerOperations, IntegrationOperations, Provider):
    service = "logs"

    def setup(self) -> None:
        parent = getattr(super(), "setup", None)
        if parent is not None:
            parent()
        events_store.recover(self.runtime.telemetry)
        self.runtime.scheduler.every(RETENTION_SWEEP, self.expire, "logs-retention")
