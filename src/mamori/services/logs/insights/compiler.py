"""Compile parsed Logs Insights commands to one DuckDB SELECT over `log_events`.

Each command becomes a CTE over the previous one. Before the first `stats`, rows are
events carrying the base columns (_id, _acct, _region, _group, _stream, _ts, _ingest,
_msg) plus one column per derived field; field names resolve, in order, to a field a
command defined, an `@` field, or a field discovered in the message: JSON (nested keys
joined with dots, array items by index) - CloudTrail records included - and the fields
of version-2 VPC flow log lines. A `stats` replaces the rows by its groups.

Values are typed loosely as AWS's: discovered fields are text, compared and added as
numbers when the other side is a number. Times are epoch milliseconds (type 'time').
`jsonParse()` gives DuckDB JSON values (type 'json'): `name.key` / `name.0` address into
them, `unnest` flattens their lists into one row per item.

Statistics ride along in the one statement: recordsMatched from a window over the rows
entering the first `stats` or `limit` (or the final rows when there is none);
recordsScanned and bytesScanned from that same `stats` when every event reaches it, else
from an aggregate over the same table and range (the `size` column: no message read).

`pattern` and `diff` split a query in two: the commands before them compile to the SQL
that yields their input (value, timestamp); clusters.py groups it in Python; the commands
after them compile (`post`) to SQL over the temporary table `_patterns` holding one row
per pattern.

Only the fields a query references are extracted: the JSON document of a message is
parsed only by the discovered fields that need it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from mamori.services.logs.insights.lexer import MalformedQuery
from mamori.services.logs.insights.parser import (
    MAX_LIMIT,
    Binary,
    Call,
    Command,
    Duration,
    Field,
    InList,
    Lit,
    Regex,
    Unary,
    parse,
)

VPC_FIELDS = ["version", "accountId", "interfaceId", "srcAddr", "dstAddr", "srcPort", "dstPort", "protocol",
              "packets", "bytes", "start", "end", "action", "logStatus"]
NUMERIC = ("num", "int", "time")
_IPV4 = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}"
_H = "[0-9a-fA-F]{1,4}"
_IPV6 = ("(" + "|".join([
    f"({_H}:){{7}}{_H}", f"({_H}:){{1,7}}:", f"({_H}:){{1,6}}:{_H}", f"({_H}:){{1,5}}(:{_H}){{1,2}}",
    f"({_H}:){{1,4}}(:{_H}){{1,3}}", f"({_H}:){{1,3}}(:{_H}){{1,4}}", f"({_H}:){{1,2}}(:{_H}){{1,5}}",
    f"{_H}:(:{_H}){{1,6}}", f":((:{_H}){{1,7}}|:)"]) + ")")
AGGREGATES = {"count", "count_distinct", "sum", "avg", "min", "max", "pct", "stddev", "earliest", "latest",
              "sortsfirst", "sortslast"}
# Functions of the current language (time-series functions of stats) mamori refuses by name.
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-timeseries-functions.html
REFUSED_FUNCTIONS = {"rate", "count_over_time", "sum_over_time", "histogram"}
# Fields every Standard log group has a field index on; filterIndex over other fields
# needs an index policy naming them.
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-FilterIndex.html
DEFAULT_INDEXED = ("@logStream", "@aws.region", "@aws.account", "@source.log", "@data_source_name",
                   "@data_source_type", "@data_format", "traceId", "severityText", "attributes.session.id")
# System fields AWS discovers that mamori does not: refused by name rather than empty.
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_AnalyzeLogData-discoverable-fields.html
UNDISCOVERED = {"@entity": "the entity of Explore related telemetry"}
# Fields of the lines Lambda writes for each invocation (START / END / REPORT RequestId: ...):
# (regular expression with one group, type, scale). Memory sizes are in bytes (MB x 10^6), as
# AWS's sample queries divide @memorySize and @maxMemoryUsed by 1000 / 1000 to get MB.
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_AnalyzeLogData-discoverable-fields.html
LAMBDA_FIELDS = {
    "@type": (r"^(START|END|REPORT) RequestId: ", "any", 0),
    "@requestId": (r"^(?:START|END|REPORT) RequestId: ([^\s]+)", "any", 0),
    "@duration": (r"(?s)^REPORT RequestId: .*?\tDuration: ([0-9.]+) ms", "num", 1),
    "@billedDuration": (r"(?s)^REPORT RequestId: .*?\tBilled Duration: ([0-9.]+) ms", "num", 1),
    "@memorySize": (r"(?s)^REPORT RequestId: .*?\tMemory Size: ([0-9]+) MB", "num", 1_000_000),
    "@maxMemoryUsed": (r"(?s)^REPORT RequestId: .*?\tMax Memory Used: ([0-9]+) MB", "num", 1_000_000),
    "@xrayTraceId": (r"(?s)^REPORT RequestId: .*?XRAY TraceId: ([^\s]+)", "any", 0),
    "@xraySegmentId": (r"(?s)^REPORT RequestId: .*?\tSegmentId: ([^\s]+)", "any", 0),
}
PATTERN_COLUMNS = {"@pattern": ("pattern", "str"), "@ratio": ("ratio", "num"), "@sampleCount": ("sample_count", "int"),
                   "@severityLabel": ("severity", "str"), "@tokens": ("tokens", "str"),
                   "@visualization": ("visualization", "str")}
PATTERN_OUTPUT = ["@pattern", "@ratio", "@sampleCount", "@severityLabel", "@tokens", "@visualization"]
DIFF_COLUMNS = {"@pattern": ("pattern", "str"), "@sampleCount": ("sample_count", "int"),
                "@previousSampleCount": ("previous_count", "int"), "@changeInSampleCount": ("change", "int"),
                "@severityLabel": ("severity", "str")}
DIFF_OUTPUT = ["@pattern", "@sampleCount", "@previousSampleCount", "@changeInSampleCount", "@severityLabel"]
# the fields `anomaly` adds to the pattern rows it keeps (AWS does not name them: see anomalies.py)
ANOMALY_COLUMNS = {"@timestamp": ("ts", "time"), "@anomalyType": ("anomaly_type", "str"),
                   "@description": ("description", "str"), "@priority": ("priority", "str"),
                   "@anomalyScore": ("score", "num")}
ANOMALY_OUTPUT = ["@timestamp", "@anomalyType", "@description", "@priority", "@anomalyScore"]


def unsupported(what: str) -> MalformedQuery:
    return MalformedQuery(f"{what} is not supported by mamori yet")


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def s(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def json_path(parts: list[str]) -> str:
    return "$" + "".join(f"[{p}]" if p.isdigit() else "." + q(p) for p in parts)


@dataclass
class Stage:
    events: bool = True
    cols: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (sql column, type)
    output: list[str] | None = None
    order: list[str] = field(default_factory=list)
    tiebreak: list[str] = field(default_factory=list)  # unnest ordinals, after _ts/_id
    default_order: str = "ORDER BY ALL"


@dataclass
class PatternPlan:
    """`pattern`/`diff`: the SQL of their input, and what runs on their rows."""
    input_sql: str        # rows (value, time bin, in current window, in previous, count, first ts, first id)
    post: "Compiled"      # the commands after them, over the temporary table _patterns
    diff: str | None      # None for pattern; "" / previousDay / previousWeek / previousMonth
    anomaly: bool = False  # `anomaly` follows: the input rows carry a fine time bin too


@dataclass
class Compiled:
    sql: str
    params: list
    columns: list[tuple[str, str]]  # (output name, type)
    events: bool                    # rows are events (carry @ptr)
    stats: bool
    stats_sql: str = ""             # (records scanned, records matched, bytes scanned), alone
    source: dict | None = None      # SOURCE logGroups(...) arguments
    unmask: bool = False
    commands: set = field(default_factory=set)  # command names the query uses
    pattern: PatternPlan | None = None
    base_refs: int = 1              # times the statement repeats the base parameters


class Compiler:
    def __init__(self, indexed: Callable[[str], dict[str, int]] | None = None) -> None:
        self.ctes: list[str] = []
        self.n = 0
        self.stage = Stage(default_order="ORDER BY _ts DESC, _id DESC")
        self.aggregating = False
        self.matched_stage: int | None = None
        self.matched_col = False    # the current rows carry `_matched` (first stats seen)
        self.carry: list[str] = []  # hidden statistics columns later stats carry along
        self.preserving = True      # every event so far is still a row (no filter yet)
        self.needs_json = False     # a discovered field reads the message as JSON
        self.indexed = indexed or (lambda name: {})

    def fresh(self, prefix: str = "c") -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    def add(self, body: str) -> None:
        prev = f"s{len(self.ctes) - 1}"
        self.ctes.append(body.replace("{prev}", prev))

    # -- fields ------------------------------------------------------------------------
    def field(self, name: str) -> tuple[str, str]:
        st = self.stage
        if name in st.cols:
            col, typ = st.cols[name]
            return q(col), typ
        if not st.events:
            raise MalformedQuery(f"the field '{name}' is not available after stats")
        base = {"@timestamp": ("_ts", "time"), "@message": ("_msg", "any"), "@logStream": ("_stream", "any"),
                "@ingestionTime": ("_ingest", "time"), "@log": ("(_acct || ':' || _group)", "any")}
        if name in base:
            return base[name]
        parts = name.split(".")
        for k in range(len(parts) - 1, 0, -1):  # into a JSON value a command defined
            head = ".".join(parts[:k])
            if head in st.cols and st.cols[head][1] == "json":
                return f"json_extract({q(st.cols[head][0])}, {s(json_path(parts[k:]))})", "json"
        if name in ("@aws.region", "@aws.account"):
            return ("_region" if name == "@aws.region" else "_acct"), "any"
        if name.startswith("@"):
            if name == "@ptr":
                raise unsupported("using @ptr in an expression")
            if name in LAMBDA_FIELDS:
                rx, typ, scale = LAMBDA_FIELDS[name]
                sql = f"nullif(regexp_extract(_msg, {s(rx)}, 1), '')"
                if typ == "num":
                    return f"(TRY_CAST({sql} AS DOUBLE) * {scale})", "num"
                return sql, "any"
            root = name.split(".")[0]
            if root in UNDISCOVERED:
                raise unsupported(f"the field {root} ({UNDISCOVERED[root]})")
            return "NULL", "any"
        self.needs_json = True
        # try(): a message that starts like JSON but is not valid JSON has no JSON fields
        sql = f"try(json_extract_string(_j, {s(json_path(parts))}))"
        if name in VPC_FIELDS:
            i = VPC_FIELDS.index(name) + 1
            vpc = "(starts_with(_msg, '2 ') AND len(string_split(_msg, ' ')) = 14)"
            sql = f"coalesce({sql}, CASE WHEN {vpc} THEN split_part(_msg, ' ', {i}) END)"
        return sql, "any"

    # -- expressions -------------------------------------------------------------------
    def num(self, e: Any) -> str:
        sql, typ = self.expr(e)
        if typ == "json":
            sql = f"json_extract_string({sql}, '$')"
        return sql if typ in NUMERIC else f"TRY_CAST({sql} AS DOUBLE)"

    def text(self, e: Any) -> str:
        sql, typ = self.expr(e)
        return self.as_text(sql, typ)

    def as_text(self, sql: str, typ: str) -> str:
        if typ in ("str", "any"):
            return sql
        if typ == "json":  # strings without their quotes, maps and lists as compact JSON
            return f"json_extract_string({sql}, '$')"
        if typ == "num":
            return (f"CASE WHEN {sql} = floor({sql}) AND abs({sql}) < 1e15 THEN CAST(CAST({sql} AS BIGINT) AS VARCHAR) "
                    f"ELSE CAST({sql} AS VARCHAR) END")
        return f"CAST({sql} AS VARCHAR)"

    def truth(self, e: Any) -> str:
        sql, typ = self.expr(e)
        if typ == "bool":
            return f"coalesce({sql}, false)"
        if typ in NUMERIC:
            return f"coalesce({sql} <> 0, false)"
        return f"({sql} IS NOT NULL)"

    def regex(self, r: Regex) -> str:
        return r.pattern.replace("(?<", "(?P<").replace("(?P<=", "(?<=").replace("(?P<!", "(?<!")

    def match(self, target: str, r: Regex) -> str:
        opts = ", 'i'" if "i" in r.flags else ""
        return f"regexp_matches({target}, {s(self.regex(r))}{opts})"

    def expr(self, e: Any) -> tuple[str, str]:
        if isinstance(e, Lit):
            if isinstance(e.value, float):
                return repr(e.value), "num"
            return s(e.value), "str"
        if isinstance(e, Field):
            return self.field(e.name)
        if isinstance(e, Duration):
            return str(e.ms), "int"
        if isinstance(e, Regex):
            raise MalformedQuery(f"a regular expression /{e.pattern}/ can only follow like or =~")
        if isinstance(e, Unary):
            if e.op == "not":
                return f"(NOT {self.truth(e.operand)})", "bool"
            return f"(-{self.num(e.operand)})", "num"
        if isinstance(e, InList):
            if all(isinstance(i, Lit) and isinstance(i.value, float) for i in e.items):
                left = self.num(e.operand)
                items = [repr(i.value) for i in e.items]
            else:
                left = self.text(e.operand)
                items = [self.text(i) for i in e.items]
            neg = "NOT " if e.negated else ""
            return f"coalesce({left} {neg}IN ({', '.join(items)}), false)", "bool"
        if isinstance(e, Binary):
            return self.binary(e)
        if isinstance(e, Call):
            return self.call(e)
        raise MalformedQuery(f"unexpected expression {e!r}")

    def binary(self, e: Binary) -> tuple[str, str]:
        op = e.op
        if op in ("and", "or"):
            return f"({self.truth(e.left)} {op.upper()} {self.truth(e.right)})", "bool"
        if op in ("like", "=~"):
            target = self.text(e.left)
            if isinstance(e.right, Regex):
                return f"coalesce({self.match(target, e.right)}, false)", "bool"
            if op == "=~":
                raise MalformedQuery("=~ needs a regular expression /.../ on its right")
            return f"coalesce(contains({target}, {self.text(e.right)}), false)", "bool"
        if op in ("=", "!=", "<", "<=", ">", ">="):
            (ls, lt), (rs, rt) = self.expr(e.left), self.expr(e.right)
            if lt in NUMERIC or rt in NUMERIC:
                left, right = self.num(e.left), self.num(e.right)
            else:
                left, right = self.as_text(ls, lt), self.as_text(rs, rt)
            sop = "<>" if op == "!=" else op
            return f"coalesce({left} {sop} {right}, false)", "bool"
        if op in ("+", "-", "*", "/", "%", "^"):
            left, right = self.num(e.left), self.num(e.right)
            if op == "^":
                return f"power({left}, {right})", "num"
            if op in ("/", "%"):
                return f"(CAST({left} AS DOUBLE) {op} nullif(CAST({right} AS DOUBLE), 0))", "num"
            _, lt = self.expr(e.left)
            typ = "time" if lt == "time" and op in "+-" else "num"
            return f"({left} {op} {right})", typ
        raise MalformedQuery(f"unknown operator {op}")

    def args(self, c: Call, lo: int, hi: int | None = None) -> list:
        hi = lo if hi is None else hi
        if not lo <= len(c.args) <= hi:
            want = str(lo) if lo == hi else f"{lo} to {hi}"
            raise MalformedQuery(f"the function {c.name}() takes {want} arguments, got {len(c.args)}")
        return c.args

    def call(self, c: Call) -> tuple[str, str]:
        name = c.name.lower()
        if name in AGGREGATES:
            if not self.aggregating:
                raise MalformedQuery(f"the aggregate function {c.name}() can only be used in stats")
            return self.aggregate(c, name)
        if c.star:
            raise MalformedQuery(f"'*' is only allowed in count(*), not in {c.name}()")
        if name in REFUSED_FUNCTIONS:
            raise unsupported(f"the time-series function {c.name}()")
        a = c.args
        if name == "jsonparse":
            # https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-operations-functions.html
            # (JSON functions, structure types): a MAP or LIST, addressed with dots.
            v = self.text(self.args(c, 1)[0])
            return f"CASE WHEN json_valid({v}) THEN json({v}) END", "json"
        if name == "jsonstringify":
            sql, typ = self.expr(self.args(c, 1)[0])
            if typ == "json":
                return f"CAST({sql} AS VARCHAR)", "str"
            return f"CAST(to_json({self.as_text(sql, typ)}) AS VARCHAR)", "str"
        if name == "strlen":
            return f"length({self.text(self.args(c, 1)[0])})", "int"
        if name in ("toupper", "tolower"):
            fn = "upper" if name == "toupper" else "lower"
            return f"{fn}({self.text(self.args(c, 1)[0])})", "str"
        if name in ("trim", "ltrim", "rtrim"):
            self.args(c, 1, 2)
            extra = f", {self.text(a[1])}" if len(a) == 2 else ""
            return f"{name}({self.text(a[0])}{extra})", "str"
        if name == "concat":
            if not a:
                raise MalformedQuery("the function concat() takes at least 1 argument")
            return "concat(" + ", ".join(self.text(x) for x in a) + ")", "str"
        if name == "substr":
            self.args(c, 2, 3)
            start = f"CAST({self.num(a[1])} AS BIGINT) + 1"
            if len(a) == 3:
                return f"substr({self.text(a[0])}, {start}, CAST({self.num(a[2])} AS BIGINT))", "str"
            return f"substr({self.text(a[0])}, {start})", "str"
        if name == "replace":
            self.args(c, 3)
            return f"replace({self.text(a[0])}, {self.text(a[1])}, {self.text(a[2])})", "str"
        if name == "strcontains":
            self.args(c, 2)
            return f"CASE WHEN contains({self.text(a[0])}, {self.text(a[1])}) THEN 1 ELSE 0 END", "int"
        if name in ("isempty", "isblank"):
            v = self.text(self.args(c, 1)[0])
            inner = f"trim({v})" if name == "isblank" else v
            return f"({v} IS NULL OR {inner} = '')", "bool"
        if name in ("abs", "ceil", "floor", "sqrt"):
            return f"{name}({self.num(self.args(c, 1)[0])})", "num"
        if name == "log":
            return f"ln({self.num(self.args(c, 1)[0])})", "num"
        if name in ("greatest", "least"):
            if not a:
                raise MalformedQuery(f"the function {c.name}() takes at least 1 argument")
            return f"{name}(" + ", ".join(self.num(x) for x in a) + ")", "num"
        if name == "bin":
            self.args(c, 1)
            if not isinstance(a[0], Duration):
                raise MalformedQuery("bin() takes a time period such as 5m")
            ts, _ = self.field("@timestamp")
            return f"(CAST(floor({ts} / {a[0].ms}) AS BIGINT) * {a[0].ms})", "time"
        if name in ("datefloor", "dateceil"):
            self.args(c, 2)
            if not isinstance(a[1], Duration):
                raise MalformedQuery(f"{c.name}() takes a time period such as 1h as its second argument")
            fn = "floor" if name == "datefloor" else "ceil"
            return f"(CAST({fn}({self.num(a[0])} / {a[1].ms}) AS BIGINT) * {a[1].ms})", "time"
        if name == "frommillis":
            return f"CAST({self.num(self.args(c, 1)[0])} AS BIGINT)", "time"
        if name == "tomillis":
            return f"CAST({self.num(self.args(c, 1)[0])} AS BIGINT)", "int"
        if name in ("isvalidip", "isvalidipv4", "isvalidipv6"):
            v = self.text(self.args(c, 1)[0])
            v4, v6 = f"regexp_full_match({v}, {s(_IPV4)})", f"regexp_full_match({v}, {s(_IPV6)})"
            body = {"isvalidip": f"({v4} OR {v6})", "isvalidipv4": v4, "isvalidipv6": v6}[name]
            return f"coalesce({body}, false)", "bool"
        if name in ("isipinsubnet", "isipv4insubnet", "isipv6insubnet"):
            self.args(c, 2)
            if not isinstance(a[1], Lit) or not isinstance(a[1].value, str):
                raise unsupported(f"{c.name}() with a subnet that is not a string literal")
            return self.in_subnet(self.text(a[0]), a[1].value, c.name, name), "bool"
        if name == "ispresent":
            sql, _ = self.expr(self.args(c, 1)[0])
            return f"({sql} IS NOT NULL)", "bool"
        if name == "coalesce":
            if not a:
                raise MalformedQuery("the function coalesce() takes at least 1 argument")
            return "coalesce(" + ", ".join(self.text(x) for x in a) + ")", "any"
        raise unsupported(f"the function {c.name}()")

    def in_subnet(self, value: str, cidr: str, fn: str, name: str) -> str:
        import ipaddress
        try:
            net = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise MalformedQuery(f"{fn}(): '{cidr}' is not a valid subnet") from None
        if name == "isipv4insubnet" and net.version != 4:
            raise MalformedQuery(f"{fn}(): '{cidr}' is not an IPv4 subnet")
        if name == "isipv6insubnet" and net.version != 6:
            raise MalformedQuery(f"{fn}(): '{cidr}' is not an IPv6 subnet")
        if net.version == 6:
            return self.in_subnet6(value, net)
        parts = " + ".join(f"(TRY_CAST(split_part({value}, '.', {i + 1}) AS BIGINT) << {24 - 8 * i})"
                           for i in range(4))
        mask = (0xFFFFFFFF << (32 - net.prefixlen)) & 0xFFFFFFFF
        return (f"coalesce(regexp_full_match({value}, {s(_IPV4)}) AND "
                f"(({parts}) & {mask}) = {int(net.network_address)}, false)")

    def in_subnet6(self, value: str, net: Any) -> str:
        """An IPv6 address in a subnet: the address expanded in SQL to its 32 hex digits
        (the one '::' filled with zero groups), compared with the network's first
        prefixlen bits. IPv4-mapped dotted forms are not expanded (no match)."""
        groups = f"string_split(lower({value}), ':')"
        # '::' splits into empty items: the number of zero groups is 8 - (non-empty groups)
        nonempty = f"len(list_filter({groups}, lambda x: x <> ''))"
        halves = f"string_split(lower({value}), '::')"

        def hexes(part: str) -> str:
            return (f"array_to_string(list_transform(list_filter(string_split(coalesce({part}, ''), ':'), "
                    f"lambda x: x <> ''), lambda x: lpad(x, 4, '0')), '')")
        expanded = (f"CASE WHEN contains({value}, '::') THEN {hexes(halves + '[1]')} || "
                    f"repeat('0000', 8 - {nonempty}) || {hexes(halves + '[2]')} "
                    f"ELSE {hexes(value)} END")
        bits = net.prefixlen
        full, rest = divmod(bits, 4)
        hexnet = f"{int(net.network_address):032x}"
        checks = [f"left({expanded}, {full}) = {s(hexnet[:full])}"] if full else []
        if rest:
            mask = (0xF << (4 - rest)) & 0xF
            checks.append(f"(TRY_CAST('0x' || substr({expanded}, {full + 1}, 1) AS INTEGER) & {mask}) = "
                          f"{int(hexnet[full], 16) & mask}")
        cond = " AND ".join(checks) or "true"
        return f"coalesce(regexp_full_match({value}, {s(_IPV6)}) AND length({expanded}) = 32 AND {cond}, false)"

    def aggregate(self, c: Call, name: str) -> tuple[str, str]:
        self.aggregating = False  # no aggregate inside an aggregate
        try:
            a = c.args
            if name == "count":
                if c.star or not a:
                    return "count(*)", "int"
                sql, _ = self.expr(self.args(c, 1)[0])
                return f"count({sql})", "int"
            if c.star:
                raise MalformedQuery(f"'*' is only allowed in count(*), not in {c.name}()")
            if name == "count_distinct":
                sql, _ = self.expr(self.args(c, 1)[0])
                return f"count(DISTINCT {sql})", "int"
            if name in ("sum", "avg", "stddev"):
                fn = {"sum": "sum", "avg": "avg", "stddev": "stddev_samp"}[name]
                return f"{fn}(CAST({self.num(self.args(c, 1)[0])} AS DOUBLE))", "num"
            if name in ("min", "max"):
                sql, typ = self.expr(self.args(c, 1)[0])
                if typ == "time":
                    return f"{name}({sql})", "time"
                return f"{name}({self.num(a[0])})", "num"
            if name == "pct":
                self.args(c, 2)
                if not isinstance(a[1], Lit) or not isinstance(a[1].value, float) or not 0 <= a[1].value <= 100:
                    raise MalformedQuery("pct() takes a percentile between 0 and 100 as its second argument")
                return f"quantile_disc({self.num(a[0])}, {a[1].value / 100})", "num"
            if name in ("earliest", "latest"):
                sql, typ = self.expr(self.args(c, 1)[0])
                ts, _ = self.field("@timestamp")
                fn = "arg_min" if name == "earliest" else "arg_max"
                return f"{fn}({sql}, {ts})", typ
            sql, typ = self.expr(self.args(c, 1)[0])
            return f"{'min' if name == 'sortsfirst' else 'max'}({sql})", typ
        finally:
            self.aggregating = True

    # -- commands ----------------------------------------------------------------------
    def command(self, cmd: Command) -> None:
        st = self.stage
        if cmd.kind in ("filter", "filterindex", "dedup", "limit", "unnest"):
            self.preserving = False
        if cmd.kind == "fields":
            sel = []
            for item in cmd.items:
                sql, typ = self.expr(item.expr)
                col = self.fresh()
                sel.append(f"{sql} AS {q(col)}")
                st.cols[item.name] = (col, typ)
            self.add(f"SELECT *, {', '.join(sel)} FROM {{prev}}")
            out = st.output or []
            st.output = out + [i.name for i in cmd.items if i.name not in out]
        elif cmd.kind == "display":
            for name in cmd.items:
                self.field(name)
            st.output = list(cmd.items)
        elif cmd.kind == "filter":
            self.add(f"SELECT * FROM {{prev}} WHERE {self.truth(cmd.expr)}")
        elif cmd.kind == "filterindex":
            self.filter_index(cmd)
        elif cmd.kind == "parse":
            self.parse_command(cmd)
        elif cmd.kind == "unnest":
            self.unnest(cmd)
        elif cmd.kind == "sort":
            keys = []
            for e, desc in cmd.keys:
                sql, typ = self.expr(e)
                d = " DESC" if desc else " ASC"
                if typ in ("any", "json"):
                    keys.append(f"TRY_CAST({self.as_text(sql, typ)} AS DOUBLE){d} NULLS LAST")
                keys.append(f"{self.as_text(sql, typ) if typ == 'json' else sql}{d} NULLS LAST")
            st.order = keys
        elif cmd.kind == "limit":
            if self.matched_stage is None:  # recordsMatched counts the events before the limit
                self.matched_stage = len(self.ctes) - 1
                self.add("SELECT *, count(*) OVER () AS _matched FROM {prev}")
                self.matched_col, self.carry = True, ["_matched"]
            self.add(f"SELECT * FROM {{prev}} {self.order_by()} LIMIT {cmd.number}")
        elif cmd.kind == "dedup":
            # events with a null in any of the fields are all kept
            # https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Dedup.html
            fields = [self.field(n)[0] for n in cmd.items]
            nulls = " OR ".join(f"{f} IS NULL" for f in fields)
            self.add(f"SELECT * FROM {{prev}} QUALIFY ({nulls}) OR row_number() OVER (PARTITION BY "
                     f"{', '.join(fields)} {self.order_by()}) = 1")
        elif cmd.kind == "stats":
            self.stats(cmd)
        elif cmd.kind == "unmask":
            for name in cmd.names:
                self.field(name)
        elif cmd.kind == "source":
            if cmd is not self.first:
                raise MalformedQuery(f"SOURCE at position {cmd.pos} must be the first command of the query")
        elif cmd.kind == "anomaly":
            if self.first is not None:  # not over the rows of `pattern`
                raise MalformedQuery(f"'anomaly' at position {cmd.pos} works on the patterns of the pattern "
                                     "command: it must follow pattern (mamori runs it on nothing else)")
            if "@anomalyType" in st.cols:
                raise MalformedQuery(f"'anomaly' at position {cmd.pos} can be used once per query")
            # the patterns found anomalous, with every field they had and the anomaly's own
            # https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Anomaly.html
            self.add('SELECT * FROM {prev} WHERE "anomalous"')
            st.cols.update(ANOMALY_COLUMNS)
            st.output = (st.output or []) + [n for n in ANOMALY_OUTPUT if n not in (st.output or [])]
            st.default_order = 'ORDER BY "priority_rank" ASC, "score" DESC, "pattern" ASC'
        else:  # pattern / diff inside a post stage
            raise MalformedQuery(f"'{cmd.kind}' at position {cmd.pos} can be used once per query")

    def order_by(self) -> str:
        st = self.stage
        keys = list(st.order)
        if not keys:
            return st.default_order + "".join(f", {t}" for t in st.tiebreak)
        if st.events:
            keys += ["_ts DESC", "_id DESC"]
        keys += st.tiebreak
        return "ORDER BY " + ", ".join(keys)

    def filter_index(self, cmd: Command) -> None:
        """filterIndex: like filter, but only over the log groups indexed on the field
        (default indexes, or a field index policy: then only events ingested after it).
        https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-FilterIndex-Filter.html"""
        if not self.stage.events:
            raise MalformedQuery(f"filterIndex at position {cmd.pos} must come before stats")
        name = cmd.expr.left.name if isinstance(cmd.expr, Binary) else cmd.expr.operand.name
        groups = {} if name not in DEFAULT_INDEXED else None
        if groups is None:
            where = self.truth(cmd.expr)
        else:
            groups = self.indexed(name)
            conds = [f"(_group = {s(g)}" + (f" AND _ingest >= {int(since)})" if since else ")")
                     for g, since in sorted(groups.items())]
            where = f"({' OR '.join(conds)}) AND {self.truth(cmd.expr)}" if conds else "false"
        self.add(f"SELECT * FROM {{prev}} WHERE {where}")

    def unnest(self, cmd: Command) -> None:
        """unnest list into item: one row per item of a LIST (from jsonParse); any other
        value is a list of one item; a missing value or an empty list gives no row.
        https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Unnest.html"""
        sql, typ = self.expr(cmd.expr)
        if typ == "json":
            items = (f"CASE WHEN {sql} IS NULL OR json_type({sql}) = 'NULL' THEN []::JSON[] "
                     f"WHEN json_type({sql}) = 'ARRAY' THEN CAST(json_extract({sql}, '$[*]') AS JSON[]) "
                     f"ELSE [{sql}] END")
        else:
            t = self.as_text(sql, typ)
            items = f"CASE WHEN {t} IS NULL THEN []::JSON[] ELSE [CAST(to_json({t}) AS JSON)] END"
        lst, col, ordinal = self.fresh("l"), self.fresh(), self.fresh("u")
        self.add(f"SELECT *, {items} AS {q(lst)} FROM {{prev}}")
        self.add(f"SELECT *, unnest({q(lst)}) AS {q(col)}, unnest(range(len({q(lst)}))) AS {q(ordinal)} "
                 f"FROM {{prev}}")
        self.stage.cols[cmd.names[0]] = (col, "json")
        self.stage.tiebreak.append(f"{q(ordinal)} ASC")

    def parse_command(self, cmd: Command) -> None:
        import re as pyre
        src = self.text(cmd.expr)
        if isinstance(cmd.pattern, Lit):
            pieces = cmd.pattern.value.split("*")
            if len(pieces) - 1 != len(cmd.names):
                raise MalformedQuery(f"parse at position {cmd.pos}: the pattern has {len(pieces) - 1} '*' "
                                     f"but {len(cmd.names)} names follow 'as'")
            rx = "".join(pyre.escape(p) + ("(.*?)" if i < len(pieces) - 2 else "(.*)" if i == len(pieces) - 2 else "")
                         for i, p in enumerate(pieces))
            groups = list(enumerate(cmd.names, 1))
            opts = ""
        else:
            rx = self.regex(cmd.pattern)
            compiled = pyre.compile(rx, pyre.I if "i" in cmd.pattern.flags else 0)
            names = sorted(compiled.groupindex.items(), key=lambda kv: kv[1])
            if cmd.names:
                if len(cmd.names) != compiled.groups:
                    raise MalformedQuery(f"parse at position {cmd.pos}: the regular expression has "
                                         f"{compiled.groups} groups but {len(cmd.names)} names follow 'as'")
                groups = list(enumerate(cmd.names, 1))
            elif names:
                groups = [(idx, n) for n, idx in names]
            else:
                raise MalformedQuery(f"parse at position {cmd.pos}: the regular expression has no named "
                                     "capture group (?<name>...)")
            opts = ", 'i'" if "i" in cmd.pattern.flags else ""
        sel = []
        for idx, name in groups:
            col = self.fresh()
            sel.append(f"CASE WHEN regexp_matches({src}, {s(rx)}{opts}) THEN "
                       f"regexp_extract({src}, {s(rx)}, {idx}{opts}) END AS {q(col)}")
            self.stage.cols[name] = (col, "any")
        self.add(f"SELECT *, {', '.join(sel)} FROM {{prev}}")

    def stats(self, cmd: Command) -> None:
        first = self.matched_stage is None
        # Every event reaches the first stats: it counts the scanned records and bytes too,
        # so that no second pass over the events is needed. (After filters, a second pass
        # over the cheap columns, the sizes included, costs less than aggregating every
        # event with FILTER clauses: measured.)
        fold = first and self.preserving and self.stage.events
        if first:
            self.matched_stage = len(self.ctes) - 1
        sel, cols, groups = [], {}, []
        for item in cmd.by:
            sql, typ = self.expr(item.expr)
            col = self.fresh("g")
            sel.append(f"{sql} AS {q(col)}")
            groups.append(q(col))
            cols[item.name] = (col, typ)
        self.aggregating = True
        try:
            for item in cmd.items:
                if not self._has_aggregate(item.expr):
                    raise MalformedQuery(f"stats at position {cmd.pos}: '{item.text}' is not an aggregate "
                                         "function such as count() or avg()")
                sql, typ = self.expr(item.expr)
                col = self.fresh("a")
                sel.append(f"{sql} AS {q(col)}")
                cols[item.name] = (col, typ)
        finally:
            self.aggregating = False
        group_by = f" GROUP BY {', '.join(groups)}" if groups else ""
        if fold:
            self.add(f"SELECT *, sum(_n) OVER () AS _matched, sum(_n) OVER () AS _scanned, "
                     f"sum(_b) OVER () AS _bytes FROM (SELECT {', '.join(sel)}, count(*) AS _n, "
                     f"sum(_size) AS _b FROM {{prev}}{group_by})")
            self.carry = ["_matched", "_scanned", "_bytes"]
        elif first:  # recordsMatched: the rows entering the first stats, summed over its groups
            self.add(f"SELECT *, sum(_n) OVER () AS _matched FROM (SELECT {', '.join(sel)}, count(*) AS _n "
                     f"FROM {{prev}}{group_by})")
            self.carry = ["_matched"]
        else:
            carried = "".join(f", any_value({c}) AS {c}" for c in self.carry)
            self.add(f"SELECT {', '.join(sel)}{carried} FROM {{prev}}{group_by}")
        self.matched_col = True
        names = [i.name for i in cmd.by] + [i.name for i in cmd.items]
        self.stage = Stage(events=False, cols=cols, output=names)

    def _has_aggregate(self, e: Any) -> bool:
        if isinstance(e, Call):
            return (e.name.lower() in AGGREGATES | REFUSED_FUNCTIONS
                    or any(self._has_aggregate(x) for x in e.args))
        if isinstance(e, Binary):
            return self._has_aggregate(e.left) or self._has_aggregate(e.right)
        if isinstance(e, Unary):
            return self._has_aggregate(e.operand)
        return False

    # -- whole query -------------------------------------------------------------------
    def base(self, table: str) -> str:
        j = ", CASE WHEN left(message, 1) = '{' THEN message END AS _j" if self.needs_json else ""
        return ("SELECT id AS _id, account AS _acct, region AS _region, log_group AS _group, "
                "log_stream AS _stream, ts AS _ts, ingestion_time AS _ingest, message AS _msg, size AS _size"
                f"{j} FROM {table} WHERE {BASE_WHERE}")

    def compile(self, commands: list[Command], limit: int, table: str) -> Compiled:
        self.first = commands[0]
        used = {c.kind for c in commands}
        source = commands[0].source if commands[0].kind == "source" else None
        cut = next((i for i, c in enumerate(commands) if c.kind in ("pattern", "diff")), None)
        self.ctes.append("")  # the base, built last: it knows then which columns are needed
        for i, cmd in enumerate(commands):
            if cmd.kind == "dedup":
                later = next((c for c in commands[i + 1:] if c.kind != "limit"), None)
                if later is not None:
                    # https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Dedup.html
                    raise MalformedQuery(f"'{later.kind}' at position {later.pos}: the only command that can "
                                         "follow dedup is limit")
        for cmd in commands if cut is None else commands[:cut]:
            self.command(cmd)
        if cut is not None:
            plan = self.pattern_plan(commands, cut, limit, table)
            out = Compiled(plan.input_sql, [], [], False, False, source=source, unmask="unmask" in used,
                           commands=used, pattern=plan)
            return out
        st = self.stage
        self.ctes[0] = self.base(table)
        names = st.output if st.output is not None else ["@timestamp", "@message"]
        sel, columns = [], []
        for i, name in enumerate(names):
            sql, typ = self.field(name)
            if typ == "json":
                sql, typ = self.as_text(sql, typ), "any"
            sel.append(f"{sql} AS {q('o' + str(i))}")
            columns.append((name, typ))
        if st.events:
            sel += ["_acct", "_region", "_group", "_id"]
        self.ctes[0] = self.base(table)  # again: the output may have referenced more fields
        matched = "_matched" if self.matched_col else "count(*) OVER ()"
        sel.append(f"{matched} AS _matched")
        ctes = ",\n".join(f"s{i} AS ({body})" for i, body in enumerate(self.ctes))
        if "_scanned" in self.carry:
            sel.append("_scanned, _bytes")
            refs = 1
        else:
            sel.append("(SELECT _scanned FROM _scan) AS _scanned, (SELECT _bytes FROM _scan) AS _bytes")
            scan = f"SELECT count(*) AS _scanned, sum(size) AS _bytes FROM {table} WHERE {BASE_WHERE}"
            ctes += f",\n_scan AS ({scan})"
            refs = 2
        sql = f"WITH {ctes}\nSELECT {', '.join(sel)} FROM s{len(self.ctes) - 1} {self.order_by()} LIMIT {int(limit)}"
        k = self.matched_stage if self.matched_stage is not None else len(self.ctes) - 1
        upto = ",\n".join(f"s{i} AS ({body})" for i, body in enumerate(self.ctes[:k + 1]))
        stats_sql = (f"WITH {upto}\nSELECT (SELECT count(*) FROM s0), (SELECT count(*) FROM s{k}), "
                     "(SELECT sum(_size) FROM s0)")
        return Compiled(sql, [], columns, st.events, "stats" in used, stats_sql, source=source,
                        unmask="unmask" in used, commands=used, base_refs=refs)

    def pattern_plan(self, commands: list[Command], cut: int, limit: int, table: str) -> PatternPlan:
        cmd, rest = commands[cut], commands[cut + 1:]
        if not self.stage.events:
            raise MalformedQuery(f"'{cmd.kind}' at position {cmd.pos} needs log events: it cannot follow stats")
        diff = None
        expr = cmd.expr if cmd.kind == "pattern" else Field("@message")
        if cmd.kind == "diff":
            diff = cmd.period
        elif rest and rest[0].kind == "diff":
            diff, rest = rest[0].period, rest[1:]
        for c in rest:
            if c.kind in ("pattern", "diff", "unnest", "parse", "filterindex", "unmask"):
                raise MalformedQuery(f"'{c.kind}' at position {c.pos} cannot follow {cmd.kind}")
        anomaly = next((c for c in rest if c.kind == "anomaly"), None)
        if anomaly is not None and diff is not None:
            raise MalformedQuery(f"'anomaly' at position {anomaly.pos} cannot be used with diff: it works on the "
                                 "patterns of one time range")
        if anomaly is not None and any(c.kind == "stats" for c in rest[:rest.index(anomaly)]):
            raise MalformedQuery(f"'anomaly' at position {anomaly.pos} works on the patterns of the pattern "
                                 "command: it cannot follow stats")
        fine = (", CAST(floor((_ts - $fbin_start) / $fbin_ms) AS BIGINT) AS _fbin" if anomaly is not None else "")
        value = self.text(expr)
        self.ctes[0] = self.base(table)
        ctes = ",\n".join(f"s{i} AS ({body})" for i, body in enumerate(self.ctes))
        last = f"s{len(self.ctes) - 1}"
        # one row per distinct (value, time bin, window): clusters.py works on distinct values
        input_sql = (f"WITH {ctes}\nSELECT v, _bin, _cur, _prev, count(*), min(_ts), min(_id)"
                     f"{', _fbin' if fine else ''} FROM "
                     f"(SELECT {value} AS v, _ts, _id, CAST(floor((_ts - $bin_start) / $bin_ms) AS BIGINT) AS _bin{fine}, "
                     f"_ts >= $cur_start AS _cur, _ts BETWEEN $prev_start AND $prev_end AS _prev FROM {last}) "
                     "WHERE v IS NOT NULL AND (_cur OR _prev) GROUP BY ALL")
        post = Compiler()
        post.first = None
        cols = dict(DIFF_COLUMNS if diff is not None else PATTERN_COLUMNS)
        post.stage = Stage(events=False, cols=cols, output=list(DIFF_OUTPUT if diff is not None else PATTERN_OUTPUT),
                           default_order=('ORDER BY "sample_count" DESC, "pattern" ASC'))
        post.ctes.append("SELECT * FROM _patterns")
        for c in rest:
            post.command(c)
        st = post.stage
        sel, columns = [], []
        for i, name in enumerate(st.output):
            sql, typ = post.field(name)
            sel.append(f"{sql} AS {q('o' + str(i))}")
            columns.append((name, typ))
        ctes = ",\n".join(f"s{i} AS ({body})" for i, body in enumerate(post.ctes))
        post_sql = (f"WITH {ctes}\nSELECT {', '.join(sel)} FROM s{len(post.ctes) - 1} {post.order_by()} "
                    f"LIMIT {int(limit)}")
        return PatternPlan(input_sql, Compiled(post_sql, [], columns, False, True), diff, anomaly is not None)


BASE_WHERE = "account = ? AND region = ? AND list_contains(?::VARCHAR[], log_group) AND ts >= ? AND ts <= ?"


def compile_query(text: str, limit: int = 10000, table: str = "log_events",
                  indexed: Callable[[str], dict[str, int]] | None = None) -> Compiled:
    if not 1 <= limit <= MAX_LIMIT:
        raise MalformedQuery(f"limit must be between 1 and {MAX_LIMIT}")
    return Compiler(indexed).compile(parse(text), limit, table)
