"""GetMetricData: MetricStat and Expression queries, labels, ScanBy, pagination.

    get_metric_data       validate the queries, evaluate them (`_evaluate`), page the result
    evaluate_metric_data  the same evaluation for the alarms (id -> (timestamp, value) list)

Expressions are evaluated after the metrics they use, in dependency order; cycles and
unknown ids are refused. Dynamic labels (`${PROP('Dim.InstanceId')}`, `${MAX}`,
`${LAST}`, `${FIRST_TIME}`, ...) are filled from each series; LabelOptions.Timezone
shifts the times they show. Points are returned newest first unless ScanBy says
`TimestampAscending`; past MaxDatapoints the call answers `PartialData` and a
NextToken that resumes where the page stopped.

Facts: https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/graph-dynamic-labels.html
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from mamori.errors import AwsError
from mamori.gateway.context import RequestContext
from typing import TYPE_CHECKING
from mamori.services.cloudwatch.model import align_start, epoch, valid_period, validation
from mamori.services.cloudwatch.statistics import parse_statistic
from mamori.store.metrics import dims_from_key

if TYPE_CHECKING:  # pragma: no cover - the math modules load on first use (start-up time)
    from mamori.services.cloudwatch.math.evaluate import Series

MAX_QUERIES = 500
DEFAULT_MAX_POINTS = 100_800
MAX_SEARCH_RESULTS = 500
MAX_GRID = 1_000_000  # periods FILL / TIME_SERIES / scalars may fill in one call
ID = re.compile(r"^[a-z][A-Za-z0-9_]*$")
LABEL_VAR = re.compile(r"\$\{([^}]*)\}")
TIMEZONE = re.compile(r"^([+-])(\d{2})(\d{2})$")


class MetricDataOperations:
    """Mixin of the CloudWatch provider (needs MetricOperations)."""

    def get_metric_data(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("cloudwatch:GetMetricData")
        queries = request.get("MetricDataQueries") or []
        start, end = epoch(request["StartTime"]), epoch(request["EndTime"])
        if start >= end:
            raise validation("The parameter StartTime must be less than the parameter EndTime.")
        scan = request.get("ScanBy") or "TimestampDescending"
        max_points = request.get("MaxDatapoints") or DEFAULT_MAX_POINTS
        tz = (request.get("LabelOptions") or {}).get("Timezone")
        offset = _timezone(tz) if tz else 0
        results, messages = self._evaluate(ctx.account_id, ctx.region, queries, start, end, with_search_auth=ctx)
        fingerprint = hashlib.sha256(json.dumps(
            [queries, start, end, scan, max_points, ctx.account_id, ctx.region], default=str, sort_keys=True,
        ).encode()).hexdigest()[:16]
        skip = _read_token(request["NextToken"], fingerprint) if request.get("NextToken") else 0
        out = []
        budget = max_points
        position = 0
        truncated = False
        for q, series in results:
            times, values = list(series.points), list(series.points.values())
            if scan != "TimestampAscending":
                times.reverse()
                values.reverse()
            begin = max(0, skip - position)
            position += len(times)
            left = max(0, len(times) - begin)
            take = min(budget, left)
            budget -= take
            status = "Complete"
            if take < left:
                status = "PartialData"
                truncated = True
            entry: dict[str, Any] = {
                "Id": q["Id"],
                "Label": _label(q, series, offset),
                "Timestamps": times[begin:begin + take],
                "Values": values[begin:begin + take],
                "StatusCode": status,
            }
            msgs = series.meta.get("_messages")
            if msgs:
                entry["Messages"] = msgs
            out.append(entry)
        response: dict[str, Any] = {"MetricDataResults": out, "Messages": messages}
        if truncated:
            response["NextToken"] = _token(skip + max_points, fingerprint)
        return response

    def evaluate_metric_data(self, account_id: str, region: str, queries: list[dict], start: float, end: float) -> dict[str, list[tuple[float, float]]]:
        """GetMetricData's queries -> id -> (timestamp, value) ascending, for every query
        (ReturnData or not). An expression returning an array gives its first series."""
        results, _ = self._evaluate(account_id, region, queries, epoch(start), epoch(end), all_ids=True)
        out: dict[str, list[tuple[float, float]]] = {}
        for q, series in results:
            out.setdefault(q["Id"], list(series.points.items()))
        return out

    # -- evaluation --------------------------------------------------------------------

    def _evaluate(
        self, account: str, region: str, queries: list[dict], start: float, end: float,
        all_ids: bool = False, with_search_auth: Any = None,
    ) -> tuple[list[tuple[dict, Series]], list[dict[str, str]]]:
        from mamori.services.cloudwatch.math.evaluate import Evaluator, MathError, Series
        from mamori.services.cloudwatch.math.parser import MathSyntaxError, calls, parse
        from mamori.services.cloudwatch.math.search import SearchSyntaxError, compile_search, search_label

        if not queries:
            raise validation("The parameter MetricDataQueries is required.")
        if len(queries) > MAX_QUERIES:
            raise validation(f"The collection MetricDataQueries must not have a size greater than {MAX_QUERIES}.")
        by_id: dict[str, dict] = {}
        trees: dict[str, Any] = {}
        problems: list[str] = []
        now = self.runtime.clock.time()
        for i, q in enumerate(queries, 1):
            where = f"MetricDataQueries.member.{i}"
            qid = q.get("Id") or ""
            if not ID.match(qid):
                # AWS's words, one line per bad query (seen in the wild)
                problems.append(f"The value {qid} for parameter {where}.Id is not matching the expected pattern "
                                "^[a-z][a-zA-Z0-9_]*$.")
                continue
            if qid in by_id:
                raise validation(f"The value {qid} for parameter {where}.Id is not unique.")
            kinds = [k for k in ("MetricStat", "Expression") if q.get(k)]
            if q.get("MetricStat") and q.get("Expression"):
                raise validation("The parameters MetricDataQuery Expression and MetricStat are mutually exclusive "
                                 "and you have specified both.")
            if not kinds:
                raise validation(f"Exactly one of {where}.MetricStat and {where}.Expression must be specified.")
            if q.get("AccountId") and q["AccountId"] != account:
                raise validation(f"Cross-account query in {where}: the account {q['AccountId']} is not linked to this monitoring account.")
            if q.get("MetricStat"):
                ms = q["MetricStat"]
                if parse_statistic(ms.get("Stat", "")) is None:
                    problems.append(f"The value {ms.get('Stat')} for parameter {where}.MetricStat.Stat is not a valid "
                                    "statistic.")
                    continue
                if not valid_period(int(ms.get("Period") or 0)):
                    raise validation(f"The parameter {where}.MetricStat.Period must be 1, 5, 10, 20, 30, or a multiple of 60.")
            else:
                if q["Expression"].lstrip().upper().startswith("SELECT "):
                    raise validation(f"Error in expression {qid}: Metrics Insights queries (SELECT ...) are not "
                                     "supported by mamori.")
                try:
                    tree = parse(q["Expression"])
                except MathSyntaxError as exc:
                    raise validation(f"Error in expression {qid}: {exc}") from None
                if q.get("Period") is not None and "SEARCH" not in calls(tree):
                    raise validation(f"The parameter {where}.Period is only valid with a SEARCH expression.")
                trees[qid] = tree
            by_id[qid] = q
        if problems:
            raise validation("\n".join(problems))
        if not any(q.get("ReturnData", True) for q in queries) and not all_ids:
            raise validation("At least one MetricDataQuery must have ReturnData set to true.")

        periods = [int(q["MetricStat"]["Period"]) for q in queries if q.get("MetricStat")]
        periods += [int(q["Period"]) for q in queries if q.get("Expression") and q.get("Period")]
        period = min(periods) if periods else 60
        values: dict[str, Any] = {}
        metric_ids = [q["Id"] for q in queries if q.get("MetricStat")]
        for qid in metric_ids:
            ms = by_id[qid]["MetricStat"]
            metric = ms.get("Metric") or {}
            stat = parse_statistic(ms["Stat"])
            points = self.fetch(account, region, metric.get("Namespace", ""), metric.get("MetricName", ""),
                                metric.get("Dimensions"), stat, int(ms["Period"]), start, end, ms.get("Unit"))
            values[qid] = Series(points, metric.get("MetricName", ""), {
                "MetricName": metric.get("MetricName", ""), "Namespace": metric.get("Namespace", ""),
                "Dimensions": metric.get("Dimensions") or [], "Period": int(ms["Period"]), "Stat": ms["Stat"],
                "AccountId": account, "Region": region,
            }, qid)

        origin = align_start(start, now, period)
        grid_cache: list[float] = []

        def grid() -> list[float]:
            if (end - origin) / period > MAX_GRID:
                raise validation(f"The time range holds more than {MAX_GRID:,} periods of {period} seconds: "
                                 "increase the period or shorten the range.")
            if not grid_cache:
                t = origin
                while t < end:
                    grid_cache.append(t)
                    t += period
            return grid_cache

        def search(text: str, stat_text: str, search_period: int) -> list[Series]:
            stat = parse_statistic(stat_text)
            if stat is None:
                raise MathError(f"SEARCH: the statistic {stat_text} is not valid")
            if not valid_period(search_period):
                raise MathError("SEARCH: the period must be 1, 5, 10, 20, 30, or a multiple of 60")
            try:
                pred = compile_search(text)
            except SearchSyntaxError as exc:
                raise MathError(f"SEARCH: {exc}") from None
            found = []
            for _mid, ns, name, dkey, last in self.metric_store.metrics(account, region):
                if last < now - 14 * 86400:
                    continue
                dims = [(d["Name"], d["Value"]) for d in dims_from_key(dkey)]
                if pred((ns, name, dims)):
                    found.append((ns, name, dims))
            found.sort()
            if len(found) > MAX_SEARCH_RESULTS:
                found = found[:MAX_SEARCH_RESULTS]
            out = []
            for ns, name, dims in found:
                dim_list = [{"Name": k, "Value": v} for k, v in dims]
                points = self.fetch(account, region, ns, name, dim_list, stat, search_period, start, end)
                out.append(Series(points, search_label((ns, name, dims)), {
                    "MetricName": name, "Namespace": ns, "Dimensions": dim_list, "Period": search_period, "Stat": stat_text,
                    "AccountId": account, "Region": region,
                }))
            return out

        band = getattr(self, "anomaly_band", None)
        band_fn = None
        if callable(band):
            def band_fn(series: Series, width: float) -> list[Series]:
                return [Series(dict(points), label, series.meta) for label, points in band(account, region, series, width, start, end)]

        evaluator = Evaluator(values, metric_ids, grid, period, search, band_fn)
        for qid in _order(trees):
            tree = trees[qid]
            try:
                result = evaluator.eval(tree)
            except MathError as exc:
                raise validation(f"Error in expression {qid}: {exc}") from None
            values[qid] = result

        out: list[tuple[dict, Series]] = []
        for q in queries:
            if not all_ids and not q.get("ReturnData", True):
                continue
            value = values[q["Id"]]
            if isinstance(value, Series):
                if q.get("Expression"):
                    value = Series(value.points, value.label, dict(value.meta), q["Id"])
                    _check_dropped(q, trees[q["Id"]], value, values)
                out.append((q, value))
            elif isinstance(value, list):
                for s in value:
                    out.append((q, s))
            else:  # a scalar: a point at every period of the range
                s = Series({t: float(value) for t in grid()}, q["Id"], {}, q["Id"])
                out.append((q, s))
        return out, []


def _order(trees: dict[str, Any]) -> list[str]:
    """Expression ids in evaluation order; cycles are refused."""
    from mamori.services.cloudwatch.math.parser import references

    order: list[str] = []
    state: dict[str, int] = {}

    def visit(qid: str, path: list[str]) -> None:
        if state.get(qid) == 2:
            return
        if state.get(qid) == 1:
            raise validation(f"Circular dependency in expressions: {' -> '.join(path + [qid])}")
        state[qid] = 1
        for ref in sorted(references(trees[qid])):
            if ref in trees:
                visit(ref, path + [qid])
        state[qid] = 2
        order.append(qid)

    for qid in trees:
        visit(qid, [])
    return order


def _check_dropped(q: dict, tree: Any, value: Series, values: dict[str, Any]) -> None:
    """Division by zero and other non-numeric results drop points; AWS says so."""
    from mamori.services.cloudwatch.math.evaluate import Series
    from mamori.services.cloudwatch.math.parser import references

    if not isinstance(tree, tuple) or tree[0] != "bin" or tree[1] not in ("/", "^"):
        return
    inputs = [values.get(r) for r in references(tree)]
    times: set[float] = set()
    series = [s for s in inputs if isinstance(s, Series)]
    if not series:
        return
    times = set(series[0].points)
    for s in series[1:]:
        times &= set(s.points)
    if len(value.points) < len(times):
        value.meta["_messages"] = [{
            "Code": "ArithmeticError",
            "Value": "One or more data-points have been dropped due to non-numeric values (NaN, -Infinite, +Infinite)",
        }]


def _timezone(text: str) -> int:
    m = TIMEZONE.match(text)
    if not m or int(m.group(3)) >= 60 or int(m.group(2)) > 23:
        raise validation(f"The value {text} for parameter LabelOptions.Timezone is invalid. Use +HHMM or -HHMM.")
    minutes = int(m.group(2)) * 60 + int(m.group(3))
    return (1 if m.group(1) == "+" else -1) * minutes * 60


def _label(q: dict, series: Series, offset: int) -> str:
    label = q.get("Label")
    if label is None:
        if q.get("MetricStat"):
            return series.meta.get("MetricName", "")
        # An expression's own series is labelled by its Id; the series of an array
        # result (SEARCH, METRICS()) by their metrics.
        return q["Id"] if series.id == q["Id"] else (series.label or q["Id"])
    if "${" not in label:
        if q.get("Expression") and series.meta.get("MetricName") and series.id != q["Id"]:
            return f"{label} {series.label}".strip()
        return label
    xs = list(series.points.values())
    ts = list(series.points)

    def fmt_time(t: float) -> str:
        d = datetime.fromtimestamp(t, timezone.utc) + timedelta(seconds=offset)
        sign = "+" if offset >= 0 else "-"
        return d.strftime("%Y-%m-%dT%H:%M:%S") + f"{sign}{abs(offset) // 3600:02d}{abs(offset) % 3600 // 60:02d}"

    def number(x: float) -> str:
        return f"{x:g}" if math.isfinite(x) else str(x)

    def var(m: re.Match) -> str:
        name = m.group(1).strip()
        prop = re.fullmatch(r"PROP\('([^']*)'\)", name)
        if prop:
            key = prop.group(1)
            meta = series.meta
            if key.startswith("Dim."):
                for d in meta.get("Dimensions") or []:
                    if d["Name"] == key[4:]:
                        return d["Value"]
                return ""
            if key in ("MetricName", "Namespace", "Stat", "Period", "AccountId", "Region"):
                return str(meta.get(key, ""))
            if key == "AccountLabel":  # cross-account observability labels: none here
                return str(meta.get("AccountId", ""))
            return m.group(0)
        if name == "LABEL":
            return series.label
        if not xs:
            return ""
        table = {
            "MAX": lambda: number(max(xs)), "MIN": lambda: number(min(xs)), "SUM": lambda: number(math.fsum(xs)),
            "AVG": lambda: number(math.fsum(xs) / len(xs)), "FIRST": lambda: number(xs[0]), "LAST": lambda: number(xs[-1]),
            "DATAPOINT_COUNT": lambda: str(len(xs)), "FIRST_TIME": lambda: fmt_time(ts[0]),
            "FIRST_LAST_RANGE": lambda: number(xs[-1] - xs[0]), "MIN_MAX_RANGE": lambda: number(max(xs) - min(xs)),
            "LAST_TIME": lambda: fmt_time(ts[-1]),
            "MIN_TIME": lambda: fmt_time(ts[xs.index(min(xs))]), "MAX_TIME": lambda: fmt_time(ts[xs.index(max(xs))]),
        }
        fn = table.get(name)
        return fn() if fn else m.group(0)

    return LABEL_VAR.sub(var, label)


def _token(offset: int, fingerprint: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "f": fingerprint}).encode()).decode()


def _read_token(token: str, fingerprint: str) -> int:
    try:
        doc = json.loads(base64.urlsafe_b64decode(token.encode()))
        if doc["f"] != fingerprint:
            raise ValueError
        return int(doc["o"])
    except Exception:  # noqa: BLE001
        raise AwsError("The service cannot process the token.", code="InvalidNextToken") from None
