"""Amazon CloudWatch (service "cloudwatch", endpoint prefix "monitoring"): metrics,
metric math, dashboards, tags; alarms come from `alarms/` (AlarmOperations).

CloudWatch speaks CBOR (smithy-rpc-v2-cbor), JSON 1.0 and query; the gateway handles
all three and the provider never knows which one a call used.

    metrics.py       PutMetricData, GetMetricStatistics, ListMetrics, record_metric_data,
                     metric_series (store: store/metrics.py, statistics.py)
    metric_data.py   GetMetricData and evaluate_metric_data (math/: parser, evaluator, SEARCH)
    dashboards.py    PutDashboard, GetDashboard, ListDashboards, DeleteDashboards
    streams.py       metric streams and the OTel enrichment switch (stored, nothing delivered)
    insights.py      Contributor Insights rules and managed rules (stored, not run);
                     GetInsightRuleReport and GetMetricWidgetImage refused by name
    tags.py          TagResource, UntagResource, ListTagsForResource
    service_metrics.py  AWS/Usage CallCount and AWS/Logs IncomingLogEvents/IncomingBytes,
                     published every minute of the clock
    alarms/          alarms, composite alarms, anomaly detectors, evaluation, actions

Public methods for other services and the alarms: `record_metric_data`,
`metric_series`, `evaluate_metric_data` (signatures in their modules), and
`resource_tags` / `save_tags` / `drop_tags` (tags.py).

Hook for the alarms: when the class has `anomaly_band(account, region, series, width,
start, end) -> [(label, {timestamp: value}), ...]` (the lower and upper band of the
anomaly detector model for `series`, a math.evaluate.Series with `meta` naming the
metric and stat), metric math's ANOMALY_DETECTION_BAND uses it; without it the
function is refused with a clear message.
"""

from __future__ import annotations

from mamori.services.base import Provider
from mamori.services.cloudwatch.dashboards import DashboardOperations
from mamori.services.cloudwatch.insights import InsightRuleOperations
from mamori.services.cloudwatch.metric_data import MetricDataOperations
from mamori.services.cloudwatch.metrics import MetricOperations
from mamori.services.cloudwatch.service_metrics import ServiceMetricOperations
from mamori.services.cloudwatch.streams import MetricStreamOperations
from mamori.services.cloudwatch.tags import TagOperations

try:
    from mamori.services.cloudwatch.alarms import AlarmOperations
except ImportError:  # the alarms are built alongside; the metrics work without them

    class AlarmOperations:  # type: ignore[no-redef]
        pass


class CloudWatchProvider(AlarmOperations, MetricOperations, MetricDataOperations, DashboardOperations,
                         MetricStreamOperations, InsightRuleOperations, ServiceMetricOperations, TagOperations, Provider):
    service = "cloudwatch"

    def setup(self) -> None:
        self.arm_roll_up()
        self.arm_service_metrics()
        parent = getattr(super(), "setup", None)
        if callable(parent):
            parent()
