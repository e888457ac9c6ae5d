"""Evaluating metric math over time series.

Values are scalars (float), time series (`Series`: ascending timestamps -> values, only
periods with data) and arrays of time series (list[Series]).

Rules (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html):
- Arithmetic and comparisons apply per timestamp. Between two series only timestamps
  present in both produce a value; with a scalar, every point of the series does; with
  an array, the operation applies to each of its series.
- Comparisons and AND/OR give 1 or 0. Division by zero gives no value at that point.
- SUM/AVG/MIN/MAX/STDDEV of one series give a scalar; of an array, a series with the
  aggregate of the series at each timestamp (over the series that have a value there).
- FILL fills the periods of the query's range that have no value: with a number (or the
  value of another series there), REPEAT (the latest earlier value), LINEAR (between
  the neighbours).
- IF(cond, a[, b]): at each timestamp of `cond`, `a` where it is non-zero, else `b`;
  without `b` the point is dropped.

The evaluator asks its host for the range's period grid (`grid`), for `SEARCH` results
(`search`) and for anomaly bands (`band`); functions that need what mamori does not
have (INSIGHT_RULE_METRIC, SERVICE_QUOTA) raise `MathError` naming the function.
"""

from __future__ import annotations

import math
import statistics
from datetime import datetime, timezone
from typing import Any, Callable

from mamori.services.cloudwatch.math.parser import Node


class MathError(ValueError):
    pass


class Series:
    __slots__ = ("points", "label", "meta", "id")

    def __init__(self, points: dict[float, float], label: str = "", meta: dict[str, Any] | None = None, id: str = "") -> None:
        self.points = points  # ascending by timestamp
        self.label = label
        self.meta = meta or {}
        self.id = id

    def derive(self, points: dict[float, float]) -> "Series":
        return Series(points, self.label, self.meta, self.id)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Series({self.label!r}, {self.points!r})"


Value = Any  # float | Series | list[Series]

_AGG = {
    "SUM": math.fsum,
    "AVG": lambda xs: math.fsum(xs) / len(xs),
    "MIN": min,
    "MAX": max,
    "STDDEV": lambda xs: statistics.pstdev(xs) if len(xs) > 1 else 0.0,
}

_REFUSED = {
    "INSIGHT_RULE_METRIC": "INSIGHT_RULE_METRIC needs Contributor Insights rule reports, which mamori does not produce",
    "SERVICE_QUOTA": "SERVICE_QUOTA needs Service Quotas, which mamori does not implement",
    "LAMBDA": "LAMBDA (metric math with Lambda functions) is not supported by mamori",
}


def _binary(op: str, a: float, b: float) -> float | None:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return None if b == 0 else a / b
    if op == "^":
        try:
            r = math.pow(a, b)
        except (ValueError, OverflowError):
            return None
        return r
    if op == "==":
        return 1.0 if a == b else 0.0
    if op == "!=":
        return 1.0 if a != b else 0.0
    if op == "<":
        return 1.0 if a < b else 0.0
    if op == "<=":
        return 1.0 if a <= b else 0.0
    if op == ">":
        return 1.0 if a > b else 0.0
    if op == ">=":
        return 1.0 if a >= b else 0.0
    if op == "AND":
        return 1.0 if a and b else 0.0
    if op == "OR":
        return 1.0 if a or b else 0.0
    raise MathError(f"Unknown operator {op}")


def _finite(x: float | None) -> bool:
    return x is not None and not math.isnan(x) and not math.isinf(x)


class Evaluator:
    def __init__(
        self,
        values: dict[str, Value],
        metric_ids: list[str],
        grid: Callable[[], list[float]],
        period: int,
        search: Callable[[str, str, int], list[Series]] | None = None,
        band: Callable[[Series, float], list[Series]] | None = None,
    ) -> None:
        self.values = values  # id -> value already computed
        self.metric_ids = metric_ids  # ids of MetricStat queries, request order
        self.grid = grid
        self.period = period
        self.search = search
        self.band = band

    # -- dispatch --------------------------------------------------------------------

    def eval(self, node: Node) -> Value:
        kind = node[0]
        if kind == "num":
            return node[1]
        if kind == "str":
            raise MathError(f"Unexpected string \"{node[1]}\"")
        if kind == "id":
            if node[1] not in self.values:
                raise MathError(f"Unknown identifier: {node[1]}")
            return self.values[node[1]]
        if kind == "name":
            raise MathError(f"Unexpected keyword {node[1]}")
        if kind == "neg":
            return self.map(self.eval(node[1]), lambda x: -x)
        if kind == "bin":
            return self.binary(node[1], self.eval(node[2]), self.eval(node[3]))
        if kind == "array":
            out: list[Series] = []
            for item in node[1]:
                v = self.eval(item)
                if isinstance(v, Series):
                    out.append(v)
                elif isinstance(v, list):
                    out.extend(v)
                else:
                    raise MathError("An array can only hold time series")
            return out
        if kind == "call":
            return self.call(node[1], node[2])
        raise MathError(f"Unknown expression element {kind}")

    # -- elementwise -------------------------------------------------------------------

    def map(self, value: Value, fn: Callable[[float], float | None]) -> Value:
        if isinstance(value, list):
            return [self.map(s, fn) for s in value]
        if isinstance(value, Series):
            out = {}
            for t, x in value.points.items():
                r = fn(x)
                if _finite(r):
                    out[t] = r
            return value.derive(out)
        r = fn(value)
        if not _finite(r):
            raise MathError("The expression produces a value that is not a number")
        return r

    def binary(self, op: str, a: Value, b: Value) -> Value:
        if isinstance(a, list) and isinstance(b, list):
            raise MathError(f"The operator {op} cannot be applied to two arrays of time series")
        if isinstance(a, list):
            return [self.binary(op, s, b) for s in a]
        if isinstance(b, list):
            return [self.binary(op, a, s) for s in b]
        if isinstance(a, Series) and isinstance(b, Series):
            out = {}
            bp = b.points
            for t, x in a.points.items():
                if t in bp:
                    r = _binary(op, x, bp[t])
                    if _finite(r):
                        out[t] = r
            return a.derive(out)
        if isinstance(a, Series):
            return self.map(a, lambda x: _binary(op, x, b))
        if isinstance(b, Series):
            return self.map(b, lambda y: _binary(op, a, y))
        r = _binary(op, a, b)
        if not _finite(r):
            raise MathError("The expression produces a value that is not a number")
        return r

    # -- functions ---------------------------------------------------------------------

    def call(self, name: str, args: list[Node]) -> Value:
        if name in _REFUSED:
            raise MathError(_REFUSED[name])
        handler = getattr(self, f"fn_{name}", None)
        if handler is None or not name.isupper():
            raise MathError(f"Unknown function: {name}")
        return handler(args)

    def _arity(self, name: str, args: list[Node], low: int, high: int) -> None:
        if not low <= len(args) <= high:
            want = str(low) if low == high else f"{low} to {high}"
            raise MathError(f"{name} takes {want} argument(s), {len(args)} given")

    def _series_or_array(self, name: str, value: Value) -> Value:
        if not isinstance(value, (Series, list)):
            raise MathError(f"{name} expects a time series or an array of time series")
        return value

    def _array(self, name: str, value: Value) -> list[Series]:
        if isinstance(value, Series):
            return [value]
        if not isinstance(value, list):
            raise MathError(f"{name} expects an array of time series")
        return value

    def _scalar(self, name: str, value: Value) -> float:
        if isinstance(value, (Series, list)):
            raise MathError(f"{name} expects a number")
        return float(value)

    def _unary_fn(self, name: str, args: list[Node], fn: Callable[[float], float | None]) -> Value:
        self._arity(name, args, 1, 1)
        return self.map(self.eval(args[0]), fn)

    def fn_ABS(self, args):
        return self._unary_fn("ABS", args, abs)

    def fn_CEIL(self, args):
        return self._unary_fn("CEIL", args, lambda x: float(math.ceil(x)))

    def fn_FLOOR(self, args):
        return self._unary_fn("FLOOR", args, lambda x: float(math.floor(x)))

    def fn_LOG(self, args):
        return self._unary_fn("LOG", args, lambda x: math.log(x) if x > 0 else None)

    def fn_LOG10(self, args):
        return self._unary_fn("LOG10", args, lambda x: math.log10(x) if x > 0 else None)

    def _aggregate(self, name: str, args: list[Node]) -> Value:
        if not args:
            raise MathError(f"{name} takes 1 argument, 0 given")
        fn = _AGG[name]
        if len(args) > 1:  # MAX(m1, m2) is MAX([m1, m2])
            value: Value = self.eval(("array", args))
        else:
            value = self.eval(args[0])
        if isinstance(value, Series):
            xs = list(value.points.values())
            if not xs:
                raise MathError(f"{name} of a time series without data points")
            return float(fn(xs))
        if isinstance(value, list):
            by_time: dict[float, list[float]] = {}
            for s in value:
                for t, x in s.points.items():
                    by_time.setdefault(t, []).append(x)
            label = value[0].label if len(value) == 1 else ""
            return Series({t: float(fn(by_time[t])) for t in sorted(by_time)}, label)
        return float(value)

    def fn_SUM(self, args):
        return self._aggregate("SUM", args)

    def fn_AVG(self, args):
        return self._aggregate("AVG", args)

    def fn_MIN(self, args):
        return self._aggregate("MIN", args)

    def fn_MAX(self, args):
        return self._aggregate("MAX", args)

    def fn_STDDEV(self, args):
        return self._aggregate("STDDEV", args)

    def fn_DATAPOINT_COUNT(self, args):
        self._arity("DATAPOINT_COUNT", args, 1, 1)
        value = self.eval(args[0])
        if isinstance(value, Series):
            return float(len(value.points))
        if isinstance(value, list):
            counts: dict[float, float] = {}
            for s in value:
                for t in s.points:
                    counts[t] = counts.get(t, 0.0) + 1
            return Series({t: counts[t] for t in sorted(counts)})
        raise MathError("DATAPOINT_COUNT expects a time series or an array of time series")

    def fn_METRIC_COUNT(self, args):
        self._arity("METRIC_COUNT", args, 1, 1)
        return float(len(self._array("METRIC_COUNT", self.eval(args[0]))))

    def fn_PERIOD(self, args):
        self._arity("PERIOD", args, 1, 1)
        value = self.eval(args[0])
        self._series_or_array("PERIOD", value)
        return float(self.period)

    def _pairwise(self, name: str, args: list[Node], fn: Callable[[float, float, float, float], float | None]) -> Value:
        self._arity(name, args, 1, 1)
        value = self._series_or_array(name, self.eval(args[0]))

        def one(s: Series) -> Series:
            out: dict[float, float] = {}
            prev: tuple[float, float] | None = None
            for t, x in s.points.items():
                if prev is not None:
                    r = fn(prev[0], prev[1], t, x)
                    if _finite(r):
                        out[t] = r
                prev = (t, x)
            return s.derive(out)

        return [one(s) for s in value] if isinstance(value, list) else one(value)

    def fn_DIFF(self, args):
        return self._pairwise("DIFF", args, lambda t0, x0, t1, x1: x1 - x0)

    def fn_DIFF_TIME(self, args):
        return self._pairwise("DIFF_TIME", args, lambda t0, x0, t1, x1: t1 - t0)

    def fn_RATE(self, args):
        return self._pairwise("RATE", args, lambda t0, x0, t1, x1: (x1 - x0) / (t1 - t0) if t1 != t0 else None)

    def fn_RUNNING_SUM(self, args):
        self._arity("RUNNING_SUM", args, 1, 1)
        value = self._series_or_array("RUNNING_SUM", self.eval(args[0]))

        def one(s: Series) -> Series:
            acc, out = 0.0, {}
            for t, x in s.points.items():
                acc += x
                out[t] = acc
            return s.derive(out)

        return [one(s) for s in value] if isinstance(value, list) else one(value)

    def fn_FILL(self, args):
        self._arity("FILL", args, 2, 2)
        value = self._series_or_array("FILL", self.eval(args[0]))
        how = args[1]
        grid = self.grid()
        mode: str | None = None
        filler: Value = None
        if how[0] == "name":
            if how[1] not in ("REPEAT", "LINEAR"):
                raise MathError(f"FILL accepts a number, a time series, REPEAT or LINEAR, not {how[1]}")
            mode = how[1]
        else:
            filler = self.eval(how)
            if isinstance(filler, list):
                raise MathError("FILL cannot fill with an array of time series")

        def one(s: Series) -> Series:
            pts = s.points
            out: dict[float, float] = {}
            if mode == "REPEAT":
                last: float | None = None
                for t in grid:
                    if t in pts:
                        last = pts[t]
                    if last is not None:
                        out[t] = last
            elif mode == "LINEAR":
                known = [t for t in grid if t in pts]
                for t in grid:
                    if t in pts:
                        out[t] = pts[t]
                import bisect

                for t in grid:
                    if t in pts:
                        continue
                    i = bisect.bisect_left(known, t)
                    if 0 < i < len(known):
                        t0, t1 = known[i - 1], known[i]
                        out[t] = pts[t0] + (pts[t1] - pts[t0]) * (t - t0) / (t1 - t0)
            else:
                for t in grid:
                    if t in pts:
                        out[t] = pts[t]
                    elif isinstance(filler, Series):
                        if t in filler.points:
                            out[t] = filler.points[t]
                    else:
                        out[t] = float(filler)
            return s.derive(out)

        return [one(s) for s in value] if isinstance(value, list) else one(value)

    def fn_IF(self, args):
        self._arity("IF", args, 2, 3)
        cond = self.eval(args[0])
        yes = self.eval(args[1])
        no = self.eval(args[2]) if len(args) == 3 else None
        if any(isinstance(v, list) for v in (cond, yes, no)):
            raise MathError("IF does not accept arrays of time series")
        if not isinstance(cond, Series):
            chosen = yes if cond else no
            if chosen is None:
                raise MathError("IF without a false value needs a time series condition")
            return chosen

        def pick(v: Value, t: float) -> float | None:
            if v is None:
                return None
            if isinstance(v, Series):
                return v.points.get(t)
            return float(v)

        out: dict[float, float] = {}
        for t, c in cond.points.items():
            r = pick(yes if c else no, t)
            if r is not None:
                out[t] = r
        base = yes if isinstance(yes, Series) else cond
        return base.derive(out)

    def fn_METRICS(self, args):
        self._arity("METRICS", args, 0, 1)
        needle = None
        if args:
            if args[0][0] != "str":
                raise MathError("METRICS takes a string filter")
            needle = args[0][1]
        out = []
        for mid in self.metric_ids:
            if needle is None or needle in mid:
                v = self.values.get(mid)
                if isinstance(v, Series):
                    out.append(v)
        return out

    def fn_REMOVE_EMPTY(self, args):
        self._arity("REMOVE_EMPTY", args, 1, 1)
        return [s for s in self._array("REMOVE_EMPTY", self.eval(args[0])) if s.points]

    def fn_FIRST(self, args):
        self._arity("FIRST", args, 1, 1)
        arr = self._array("FIRST", self.eval(args[0]))
        if not arr:
            raise MathError("FIRST of an empty array")
        return arr[0]

    def fn_LAST(self, args):
        self._arity("LAST", args, 1, 1)
        arr = self._array("LAST", self.eval(args[0]))
        if not arr:
            raise MathError("LAST of an empty array")
        return arr[-1]

    def fn_SLICE(self, args):
        self._arity("SLICE", args, 3, 3)
        arr = self._array("SLICE", self.eval(args[0]))
        start, end = int(self._scalar("SLICE", self.eval(args[1]))), int(self._scalar("SLICE", self.eval(args[2])))
        return arr[start:end]

    def fn_SORT(self, args):
        self._arity("SORT", args, 3, 4)
        arr = self._array("SORT", self.eval(args[0]))
        if args[1][0] != "name" or args[1][1] not in _AGG:
            raise MathError("SORT sorts by AVG, MIN, MAX, SUM or STDDEV")
        if args[2][0] != "name" or args[2][1] not in ("ASC", "DESC"):
            raise MathError("SORT's order is ASC or DESC")
        fn = _AGG[args[1][1]]
        keyed = [s for s in arr if s.points]
        keyed.sort(key=lambda s: fn(list(s.points.values())), reverse=args[2][1] == "DESC")
        keyed += [s for s in arr if not s.points]
        if len(args) == 4:
            keyed = keyed[: int(self._scalar("SORT", self.eval(args[3])))]
        return keyed

    def fn_TIME_SERIES(self, args):
        self._arity("TIME_SERIES", args, 1, 1)
        x = self._scalar("TIME_SERIES", self.eval(args[0]))
        return Series({t: x for t in self.grid()})

    def _time_part(self, name: str, args: list[Node], part: Callable[[datetime], float]) -> Value:
        self._arity(name, args, 1, 1)
        value = self._series_or_array(name, self.eval(args[0]))

        def one(s: Series) -> Series:
            return s.derive({t: float(part(datetime.fromtimestamp(t, timezone.utc))) for t in s.points})

        return [one(s) for s in value] if isinstance(value, list) else one(value)

    def fn_EPOCH(self, args):
        return self._time_part("EPOCH", args, lambda d: d.timestamp())

    def fn_MINUTE(self, args):
        return self._time_part("MINUTE", args, lambda d: d.minute)

    def fn_HOUR(self, args):
        return self._time_part("HOUR", args, lambda d: d.hour)

    def fn_DAY(self, args):  # day of the week, 1 = Monday ... 7 = Sunday
        return self._time_part("DAY", args, lambda d: d.isoweekday())

    def fn_MONTH(self, args):
        return self._time_part("MONTH", args, lambda d: d.month)

    def fn_YEAR(self, args):
        return self._time_part("YEAR", args, lambda d: d.year)

    def fn_SEARCH(self, args):
        self._arity("SEARCH", args, 2, 3)
        if args[0][0] != "str" or args[1][0] != "str":
            raise MathError("SEARCH takes a search expression string and a statistic string")
        period = int(self._scalar("SEARCH", self.eval(args[2]))) if len(args) == 3 else self.period
        if self.search is None:
            raise MathError("SEARCH is not available here")
        return self.search(args[0][1], args[1][1], period)

    def fn_ANOMALY_DETECTION_BAND(self, args):
        self._arity("ANOMALY_DETECTION_BAND", args, 1, 2)
        value = self.eval(args[0])
        if not isinstance(value, Series):
            raise MathError("ANOMALY_DETECTION_BAND expects one time series")
        width = self._scalar("ANOMALY_DETECTION_BAND", self.eval(args[1])) if len(args) == 2 else 2.0
        if self.band is None:
            raise MathError("ANOMALY_DETECTION_BAND needs an anomaly detector model, which is not available")
        return self.band(value, width)
