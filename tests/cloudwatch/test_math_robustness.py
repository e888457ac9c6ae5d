"""Any metric math expression gets an answer or a 400, never a 500: generated
expressions (well-formed and not) through GetMetricData."""

from __future__ import annotations

import time
import uuid

from botocore.exceptions import ClientError, ParamValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUNCS = ["ABS", "AVG", "CEIL", "DATAPOINT_COUNT", "DIFF", "DIFF_TIME", "FILL", "FIRST", "FLOOR", "HOUR", "IF",
         "LAST", "LOG", "LOG10", "MAX", "METRIC_COUNT", "METRICS", "MIN", "MINUTE", "PERIOD", "RATE",
         "REMOVE_EMPTY", "RUNNING_SUM", "SLICE", "SORT", "STDDEV", "SUM", "TIME_SERIES", "EPOCH", "NOPE"]
ATOMS = ["m1", "m2", "m9", "0", "1", "2.5", "-3", "REPEAT", "LINEAR", "ASC", "SUM", "'x'", "[m1, m2]", "METRICS()"]
OPS = ["+", "-", "*", "/", "^", ">", "<", "==", "!=", "AND", "OR", "&&", "||"]


def _expr(depth: int):
    if depth == 0:
        return st.sampled_from(ATOMS)
    sub = _expr(depth - 1)
    return st.one_of(
        st.sampled_from(ATOMS),
        st.tuples(sub, st.sampled_from(OPS), sub).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        st.tuples(st.sampled_from(FUNCS), st.lists(sub, max_size=4)).map(lambda t: f"{t[0]}({', '.join(t[1])})"),
        sub.map(lambda s: f"({s})"),
        sub.map(lambda s: f"-{s}"),
    )


EXPRESSIONS = st.one_of(_expr(3), st.text(alphabet="m12()[],+-*/^<>=!&| .ABSFILRMX'\"", max_size=25))

_WORLD: dict = {}


def _world(cw):
    if not _WORLD:
        ns = "Fuzz/" + uuid.uuid4().hex[:8]
        t0 = (int(time.time()) // 60) * 60 - 900
        cw.put_metric_data(Namespace=ns, MetricData=[
            {"MetricName": name, "Timestamp": t0 + i * 60, "Value": float(v)}
            for name, vals in (("m1", [1, 0, 3, 4, 5]), ("m2", [2, 0, -1])) for i, v in enumerate(vals)])
        _WORLD.update(ns=ns, t0=t0)
    return _WORLD


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(expression=EXPRESSIONS)
def test_no_expression_breaks_the_server(cw_json, expression):
    world = _world(cw_json)
    queries = [{"Id": m, "MetricStat": {"Metric": {"Namespace": world["ns"], "MetricName": m}, "Period": 60, "Stat": "Sum"},
                "ReturnData": False} for m in ("m1", "m2")]
    queries.append({"Id": "out", "Expression": expression})
    try:
        out = cw_json.get_metric_data(MetricDataQueries=queries, StartTime=world["t0"], EndTime=world["t0"] + 600)
    except ParamValidationError:  # refused by boto3 before sending (e.g. empty)
        return
    except ClientError as exc:
        assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 400, (expression, exc.response["Error"])
        return
    for result in out["MetricDataResults"]:
        assert len(result["Timestamps"]) == len(result["Values"])
