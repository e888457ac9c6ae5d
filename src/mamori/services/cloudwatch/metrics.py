"""Metrics: PutMetricData, GetMetricStatistics, ListMetrics, and the public methods other
services and the alarms use.

    put_metric_data        every AWS validation, then `record_metric_data`
    record_metric_data     store MetricDatum dicts (no authorization, AWS/ allowed)
    get_metric_statistics  basic and extended statistics per period, by unit
    list_metrics           filters, RecentlyActive, dimension filters, pagination
    metric_series          (period start, value) of one MetricStat (alarms)
    fetch                  the engine behind them: one metric, one statistic, one period

Facts: https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDatum.html
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_ListMetrics.html
"""

from __future__ import annotations

import base64
import json
import math
import re
from typing import Any

from mamori.gateway.context import RequestContext
from mamori.services.cloudwatch.model import (
    TWO_HOURS,
    TWO_WEEKS,
    align_start,
    combination,
    epoch,
    invalid,
    missing,
    period_allowed,
)
from mamori.services.cloudwatch.statistics import BASIC, Statistic, parse_statistic
from mamori.store.metrics import UNIT_CODE, UNITS, MetricStore, dims_from_key

MAX_VALUE = 2.0 ** 360
MAX_DATUMS = 1000
MAX_VALUES = 150
MAX_DIMENSIONS = 30
MAX_POINTS = 1440
LIST_PAGE = 500
NAMESPACE = re.compile(r"^[A-Za-z0-9.\-_/#: ]+$")
ROLL_UP_EVERY = 3600
_VALUE_KINDS = ("Value", "StatisticValues", "Values")


class MetricOperations:
    """Mixin of the CloudWatch provider (needs `self.runtime`)."""

    # -- the data set, opened on first use (DuckDB costs start-up time) -----------------

    @property
    def metric_store(self) -> MetricStore:
        store = getattr(self, "_metric_store", None)
        if store is None:
            store = self._metric_store = MetricStore(self.runtime.telemetry, self.runtime.data_dir)
        return store

    def arm_roll_up(self) -> None:
        def job(due: float) -> None:
            # After a long clock advance the scheduler runs this once per missed hour:
            # only the newest run has work to do (queries hide expired data anyway).
            if getattr(self, "_metric_store", None) is None or self.runtime.clock.time() - due >= ROLL_UP_EVERY:
                return
            self.metric_store.roll_up(due)

        self.runtime.scheduler.every(ROLL_UP_EVERY, job, "cloudwatch:metric-roll-up")

    # -- PutMetricData -------------------------------------------------------------------

    def put_metric_data(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        namespace = request.get("Namespace", "")
        ctx.authorize("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": namespace})
        if namespace.startswith("AWS/"):
            # Reserved for AWS (API_PutMetricData.html); AWS's words as seen in the wild
            # (https://github.com/boto/boto3/issues/1847).
            raise invalid("The value AWS/ for parameter Namespace is invalid.")
        # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Namespace
        if not NAMESPACE.match(namespace) or namespace.startswith(":") or not namespace.strip():
            raise invalid(f"The value {namespace} for parameter Namespace is invalid.")
        data = request.get("MetricData")
        if not data:
            if request.get("EntityMetricData"):
                data = [d for e in request["EntityMetricData"] for d in e.get("MetricData") or []]
            if not data:
                raise missing("The parameter MetricData is required.")
        if len(data) > MAX_DATUMS:
            raise invalid(f"The collection MetricData must not have a size greater than {MAX_DATUMS}.")
        rows = self._validate_data(data, ctx.time())
        self._store_rows(ctx.account_id, ctx.region, namespace, rows, ctx.time())
        return {}

    def record_metric_data(self, account_id: str, region: str, namespace: str, metric_data: list[dict]) -> None:
        """Store MetricDatum dicts for a service publishing its own metrics (AWS/...) or a
        Logs metric filter: no authorization, no AWS/ refusal. Bad datums are skipped."""
        now = self.runtime.clock.time()
        rows = []
        for n, datum in enumerate(metric_data, 1):
            try:
                rows.extend(self._validate_data([datum], now, check_age=False))
            except Exception:  # noqa: BLE001 - a service's bad datum must not break the caller
                continue
        self._store_rows(account_id, region, namespace, rows, now)

    def _store_rows(self, account: str, region: str, namespace: str, rows: list[tuple], now: float) -> None:
        self.metric_store.append_points(account, region, namespace, rows, now)

    def _dimensions(self, i: int, dims: list[dict[str, str]]) -> str:
        """The canonical key of a datum's dimensions, validated. Dimension lists seen
        before (as sent, in order) are looked up instead of checked again: the same few
        lists arrive with every PutMetricData of a client."""
        raw = tuple([(d.get("Name"), d.get("Value")) for d in dims])
        known = self.__dict__.setdefault("_dims_seen", {})
        key = known.get(raw)
        if key is not None:
            return key
        if len(dims) > MAX_DIMENSIONS:
            raise invalid(f"The collection MetricData.member.{i}.Dimensions must not have a size greater than {MAX_DIMENSIONS}.")
        seen: set[str] = set()
        for j, (dname, dvalue) in enumerate(raw, 1):
            if not dname:
                raise missing(f"The parameter MetricData.member.{i}.Dimensions.member.{j}.Name is required.")
            if not dvalue:
                raise missing(f"The parameter MetricData.member.{i}.Dimensions.member.{j}.Value is required.")
            if dname in seen:
                raise invalid(f"No metric may have duplicate dimension names: {dname} in MetricData.member.{i}.Dimensions.")
            seen.add(dname)
        key = self.metric_store.dims_key(dims)
        if len(known) > 100_000:
            known.clear()
        known[raw] = key
        return key

    def _validate_data(self, data: list[dict[str, Any]], now: float, check_age: bool = True) -> list[tuple]:
        rows: list[tuple] = []
        late: list[str] = []
        oldest, newest = now - TWO_WEEKS, now + TWO_HOURS
        for i, datum in enumerate(data, 1):
            name = datum.get("MetricName")
            if not name:
                raise missing(f"The parameter MetricData.member.{i}.MetricName is required.")
            dims = datum.get("Dimensions")
            dk = self._dimensions(i, dims) if dims else "[]"
            res = datum.get("StorageResolution", 60)
            if res != 60 and res != 1:
                raise invalid(f"The value {res} for parameter MetricData.member.{i}.StorageResolution is invalid.")
            unit_name = datum.get("Unit")
            unit = 0 if unit_name is None else UNIT_CODE.get(unit_name)
            if unit is None:
                raise invalid(f"The value {unit_name} for parameter MetricData.member.{i}.Unit is invalid.")
            ts = datum.get("Timestamp")
            ts = now if ts is None else epoch(ts)
            if check_age and not oldest <= ts <= newest:
                # AWS names every datum out of range, one line each (seen in the wild).
                if ts < oldest:
                    late.append(f"The parameter MetricData.member.{i}.Timestamp must specify a time within the past two weeks.")
                else:
                    late.append(f"The parameter MetricData.member.{i}.Timestamp must specify a time no more than two hours "
                                "in the future.")
            ts = math.floor(ts / res) * res
            value = datum.get("Value")
            if (value is not None and type(value) is float and -MAX_VALUE <= value <= MAX_VALUE
                    and datum.get("StatisticValues") is None and datum.get("Values") is None and datum.get("Counts") is None):
                rows.append((name, dk, ts, res, unit, 1.0, value, value, value, value))  # the common datum
                continue
            has = [k for k in _VALUE_KINDS if datum.get(k) is not None]
            if len(has) > 1:
                raise combination(
                    f"The parameters MetricData.member.{i}.{has[0]} and MetricData.member.{i}.{has[1]} are mutually exclusive and you have specified both."
                )
            if datum.get("Counts") is not None and "Values" not in has:
                raise combination(f"The parameter MetricData.member.{i}.Counts requires MetricData.member.{i}.Values.")
            if not has:  # AWS's words (seen in the wild)
                raise combination(f"At least one of the parameters MetricData.member.{i}.Value and "
                                  f"MetricData.member.{i}.StatisticValues must be specified.")
            if has[0] == "Value":
                v = _number(datum["Value"], i, "Value")
                rows.append((name, dk, ts, res, unit, 1.0, v, v, v, v))
            elif has[0] == "StatisticValues":
                sv = datum["StatisticValues"]
                parts = {}
                for key in ("SampleCount", "Sum", "Minimum", "Maximum"):
                    if sv.get(key) is None:
                        raise missing(f"The parameter MetricData.member.{i}.StatisticValues.{key} is required.")
                    parts[key] = _number(sv[key], i, "StatisticValues." + key)
                if parts["SampleCount"] <= 0:
                    raise invalid(f"The parameter MetricData.member.{i}.StatisticValues.SampleCount must be greater than 0.")
                if parts["Minimum"] > parts["Maximum"]:
                    raise invalid(
                        f"The parameter MetricData.member.{i}.StatisticValues.Maximum must be greater than or equal to "
                        f"MetricData.member.{i}.StatisticValues.Minimum."
                    )
                exact = parts["SampleCount"] == 1 or parts["Minimum"] == parts["Maximum"]
                rows.append((name, dk, ts, res, unit, parts["SampleCount"], parts["Sum"], parts["Minimum"],
                             parts["Maximum"], parts["Minimum"] if exact and parts["SampleCount"] == 1 else None))
            else:
                values = datum["Values"]
                counts = datum.get("Counts")
                if len(values) > MAX_VALUES:
                    raise invalid(f"The collection MetricData.member.{i}.Values must not have a size greater than {MAX_VALUES}.")
                if counts is not None and len(counts) != len(values):
                    raise invalid(f"The parameters MetricData.member.{i}.Values and MetricData.member.{i}.Counts must be of the same size.")
                for k, raw in enumerate(values):
                    v = _number(raw, i, "Values", k + 1)
                    c = 1.0 if counts is None else _number(counts[k], i, "Counts", k + 1)
                    if c < 0:
                        raise invalid(f"The value {c} for parameter MetricData.member.{i}.Counts.member.{k + 1} is invalid.")
                    if c == 0:
                        continue
                    rows.append((name, dk, ts, res, unit, c, v * c, v, v, v))
        if late:
            raise invalid("\n".join(late))
        return rows

    # -- reading one metric ----------------------------------------------------------------

    def fetch(
        self, account: str, region: str, namespace: str, name: str, dims: list[dict[str, str]] | None,
        stat: Statistic, period: int, start: float, end: float, unit: str | None = None,
    ) -> dict[float, float]:
        """Period start -> value of one statistic, ascending, periods with data only."""
        store = self.metric_store
        mid = store.find(account, region, namespace, name, store.dims_key(dims))
        now = self.runtime.clock.time()
        if mid is None:
            return {}
        origin = align_start(start, now, period)
        if not period_allowed(origin, now, period):
            return {}
        unit_code = None
        if unit:
            if unit not in UNIT_CODE:
                return {}
            unit_code = UNIT_CODE[unit]
        if not stat.extended:
            return dict(store.statistic_series(mid, origin, end, period, origin, now, stat.kind, unit_code))
        if stat.kind == "p":
            return dict(store.percentile_series(mid, origin, end, period, origin, now, stat.low or 0.0, unit_code))
        if stat.kind in ("TM", "WM", "TC", "TS", "PR"):
            rows = store.bounded_series(mid, origin, end, period, origin, now, stat.kind, stat.low, stat.high,
                                        stat.percent, unit_code)
            return {b: v for b, v in rows if v is not None}
        out: dict[float, float] = {}
        groups: dict[float, list[tuple[float, float]]] = {}
        broken: set[float] = set()
        for _mid, b, x, c, exact in store.distributions([mid], origin, end, period, origin, now, unit_code):
            groups.setdefault(float(b), []).append((x, c))
            if not exact:
                broken.add(float(b))
        for b, values in groups.items():
            if b in broken:
                continue
            r = stat.from_values(values)
            if r is not None:
                out[b] = r
        return out

    def metric_series(self, account_id: str, region: str, metric_stat: dict, start: float, end: float) -> list[tuple[float, float]]:
        """(period start, value) ascending for a MetricStat shape, periods with data only.
        Periods start at `start` rounded down to the minute (to the period when it is
        under a minute), as GetMetricData's do: pass period-aligned starts to get
        clock-aligned periods."""
        metric = metric_stat.get("Metric") or {}
        stat = parse_statistic(metric_stat.get("Stat", ""))
        if stat is None:
            raise invalid(f"The value {metric_stat.get('Stat')} for parameter Stat is invalid.")
        points = self.fetch(
            account_id, region, metric.get("Namespace", ""), metric.get("MetricName", ""), metric.get("Dimensions"),
            stat, int(metric_stat.get("Period") or 60), epoch(start), epoch(end), metric_stat.get("Unit"),
        )
        return list(points.items())

    # -- GetMetricStatistics ---------------------------------------------------------------

    def get_metric_statistics(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("cloudwatch:GetMetricStatistics")
        start, end = epoch(request["StartTime"]), epoch(request["EndTime"])
        period = request["Period"]
        basic = request.get("Statistics") or []
        extended = request.get("ExtendedStatistics") or []
        if not basic and not extended:
            raise missing("Must specify either Statistics or ExtendedStatistics.")
        for s in basic:
            if s not in BASIC:
                raise invalid(f"The value {s} for parameter Statistics is invalid.")
        parsed_ext = []
        for s in extended:
            st = parse_statistic(s)
            if st is None or not st.extended:
                raise invalid(f"The value {s} for parameter ExtendedStatistics is invalid.")
            parsed_ext.append(st)
        if period < 1 or (period >= 60 and period % 60) or (period < 60 and period not in (1, 5, 10, 30)):
            raise invalid("The parameter Period must be a multiple of 60.")
        if start == end:  # AWS's words (seen in the wild)
            raise invalid("The parameter StartTime must not equal parameter EndTime.")
        if start > end:
            raise invalid("The parameter StartTime must be less than the parameter EndTime.")
        now = ctx.time()
        origin = align_start(start, now, period)
        requested = math.ceil((end - origin) / period)
        if requested > MAX_POINTS:
            # The wording AWS answers with (a common error in the wild, e.g.
            # https://github.com/cloud-custodian/cloud-custodian/issues/7683).
            raise combination(
                f"You have requested up to {requested} datapoints, which exceeds the limit of {MAX_POINTS}. "
                "You may reduce the datapoints requested by increasing Period, or decreasing the time range."
            )
        unit = request.get("Unit")
        label = request["MetricName"]
        store = self.metric_store
        mid = store.find(ctx.account_id, ctx.region, request["Namespace"], request["MetricName"],
                         store.dims_key(request.get("Dimensions")))
        if mid is None or not period_allowed(origin, now, period) or (unit and unit not in UNIT_CODE):
            return {"Label": label, "Datapoints": []}
        unit_code = UNIT_CODE[unit] if unit else None
        points: dict[tuple[float, int], dict[str, Any]] = {}
        for _mid, b, u, n, s, lo, hi in store.aggregates([mid], origin, end, period, origin, now, unit_code, by_unit=True):
            dp: dict[str, Any] = {"Timestamp": float(b), "Unit": UNITS[u]}
            for name in basic:
                dp[name] = Statistic(name).from_aggregate(n, s, lo, hi)
            points[(float(b), u)] = dp
        if parsed_ext:
            groups: dict[tuple[float, int], list[tuple[float, float]]] = {}
            broken: set[tuple[float, int]] = set()
            for _mid, b, u, x, c, exact in store.distributions([mid], origin, end, period, origin, now, unit_code, by_unit=True):
                groups.setdefault((float(b), u), []).append((x, c))
                if not exact:
                    broken.add((float(b), u))
            for key, values in groups.items():
                ext = {}
                if key not in broken:
                    for st in parsed_ext:
                        r = st.from_values(values)
                        if r is not None:
                            ext[st.text] = r
                points[key]["ExtendedStatistics"] = ext
        return {"Label": label, "Datapoints": [points[k] for k in sorted(points)]}

    # -- ListMetrics -------------------------------------------------------------------------

    def list_metrics(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("cloudwatch:ListMetrics")
        active = request.get("RecentlyActive")
        if active is not None and active != "PT3H":
            raise invalid(f"The value {active} for parameter RecentlyActive is invalid.")
        owning = request.get("OwningAccount")
        if owning and not request.get("IncludeLinkedAccounts"):
            raise invalid("OwningAccount can only be used with IncludeLinkedAccounts set to true.")
        now = ctx.time()
        ns, name = request.get("Namespace"), request.get("MetricName")
        filters = request.get("Dimensions") or []
        out = []
        for _mid, m_ns, m_name, dkey, last in self.metric_store.metrics(ctx.account_id, ctx.region):
            # ListMetrics shows metrics with data in the last two weeks.
            if last < now - TWO_WEEKS or (active and last < now - 3 * 3600):
                continue
            if ns is not None and m_ns != ns or name is not None and m_name != name:
                continue
            dims = dims_from_key(dkey)
            have = {d["Name"]: d["Value"] for d in dims}
            if any(f["Name"] not in have or ("Value" in f and f["Value"] is not None and have[f["Name"]] != f["Value"])
                   for f in filters):
                continue
            out.append({"Namespace": m_ns, "MetricName": m_name, "Dimensions": dims})
        out.sort(key=lambda m: (m["Namespace"], m["MetricName"], json.dumps(m["Dimensions"])))
        start = 0
        if request.get("NextToken"):
            start = _read_token(request["NextToken"])
        page = out[start:start + LIST_PAGE]
        result: dict[str, Any] = {"Metrics": page}
        if request.get("IncludeLinkedAccounts"):
            result["OwningAccounts"] = [ctx.account_id] * len(page)
        if start + LIST_PAGE < len(out):
            result["NextToken"] = _token(start + LIST_PAGE)
        return result


def _number(raw: Any, i: int, member: str, k: int | None = None) -> float:
    """A datum's number (within +-2^360, not NaN or infinite); the parameter path is
    only spelled out for an error."""
    try:
        v = float(raw)
    except (TypeError, ValueError):
        v = math.nan
    if not -MAX_VALUE <= v <= MAX_VALUE:  # NaN fails this too
        path = f"MetricData.member.{i}.{member}" + ("" if k is None else f".member.{k}")
        raise invalid(f"The value {raw} for parameter {path} is invalid.")
    return v


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode()


def _read_token(token: str) -> int:
    try:
        return int(json.loads(base64.urlsafe_b64decode(token.encode()))["o"])
    except Exception:  # noqa: BLE001
        raise AwsErrorToken() from None


def AwsErrorToken():  # noqa: N802 - reads like a constructor
    from mamori.errors import AwsError

    return AwsError("The service cannot process the token.", code="InvalidNextToken")
