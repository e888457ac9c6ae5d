"""Patterns of log text for the `pattern` and `diff` commands: deterministic clustering.

AWS describes what `pattern` returns, not how it clusters (a machine-learned model):
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Pattern.html
mamori's clustering is a small, deterministic, Drain-like procedure, so that the same
events always give the same patterns:

1. Tokenize: runs of whitespace, runs of "word" characters (letters, digits and
   `_ . : / @ -`, so that IP addresses, times and ids stay one token), any other single
   character (`[`, `=`, `"`, `{` ...) on its own.
2. A word token containing a digit is variable (numbers, ids, addresses, durations).
3. Distinct values are taken in order of first appearance (timestamp, then event). A value
   joins the first existing cluster with the same number of tokens, the same first word
   (or both variable there) and at least half of its word tokens equal to the cluster's
   template (a variable token equals a variable position); the template then turns every position that differs into a variable.
   Otherwise the value starts a new cluster.
4. `@pattern` is the template with each variable token shown as `<*>` (as the pattern page
   shows it; its newer revision shows inferred names such as `<Token-1>` instead: mamori
   gives those names in `@tokens`, as inferredTokenName); `@sampleCount` the
   events of the cluster, `@ratio` their share of all input events; `@severityLabel`
   Error / Warning / Info / Debug from the first level word among the template's constant
   tokens (ERROR, WARN, INFO, DEBUG and their usual spellings), Unknown when there is none;
   `@tokens` the dynamic tokens in the shape of the API's PatternToken
   (dynamicTokenPosition, isDynamic, tokenString `<*>`, inferredTokenName such as
   `IPAddress-2`, `Number-1`, `UUID-3` or `Token-1`, enumerations: the 10 most frequent
   values with their counts); `@visualization` the events per tenth of the query's time
   range, as a JSON object {bin start (epoch ms): count} (bins without events left out).

`anomaly` (anomalies.py) looks for anomalies in the clusters of `pattern`.

`diff` clusters the events of both windows together, then counts each pattern in the
current window (`@sampleCount`) and in the earlier one (`@previousSampleCount`);
`@changeInSampleCount` is their difference (a pattern new in the current window has a
previous count of 0).
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

_TOKEN = re.compile(r"\s+|[A-Za-z0-9_.:/@-]+|[^\sA-Za-z0-9_.:/@-]")
# the same tokens, classified: (space, variable word, constant word, other character)
_CLASSIFIED = re.compile(r"(\s+)|([A-Za-z_.:/@-]*[0-9][A-Za-z0-9_.:/@-]*)|([A-Za-z_.:/@-]+)|([^\sA-Za-z0-9_.:/@-])")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_NUMBER = re.compile(r"[-+]?\d+(\.\d+)?")
_SEVERITY = {"ERROR": "Error", "ERR": "Error", "FATAL": "Error", "CRITICAL": "Error", "CRIT": "Error",
             "SEVERE": "Error", "WARN": "Warning", "WARNING": "Warning", "INFO": "Info", "NOTICE": "Info",
             "DEBUG": "Debug", "TRACE": "Debug"}


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _variable(token: str) -> bool:
    return any(c.isdigit() for c in token)


def _word(token: str) -> bool:
    return not token.isspace()


class _Cluster:
    def __init__(self, template: list[str | None], order: int) -> None:
        self.template = template
        self.order = order
        self.values: list[tuple[list[str], dict]] = []  # (tokens, {(bin, current): count})

    def first_word(self) -> int | None:
        return next((i for i, t in enumerate(self.template) if t is None or _word(t)), None)


def _matches(cluster: _Cluster, key: list[str | None], words: list[int]) -> bool:
    tmpl = cluster.template
    if words:
        f = words[0]
        if tmpl[f] != key[f]:
            return False
    equal = sum(1 for i in words if tmpl[i] == key[i])  # both variable counts as equal
    return not words or equal * 2 >= len(words)


def cluster(rows: list[tuple[str, int, bool, int, int, int]]) -> list[_Cluster]:
    """rows: (value, time bin, in current window, events, first ts, first id) per distinct
    (value, bin, window). Returns the clusters in order of creation."""
    firsts: dict[str, tuple[int, int]] = {}
    counts: dict[str, dict] = {}
    for value, b, cur, n, ts, event_id in rows:
        first = firsts.get(value)
        if first is None or (ts, event_id) < first:
            firsts[value] = (ts, event_id)
        per = counts.setdefault(value, {})
        per[(b, bool(cur))] = per.get((b, bool(cur)), 0) + int(n)
    buckets: dict[int, list[_Cluster]] = {}
    out: list[_Cluster] = []
    known: dict[tuple, _Cluster] = {}  # a shape seen before goes where it went (merging again changes nothing)
    for value in sorted(firsts, key=lambda v: (firsts[v], v)):
        parts = _CLASSIFIED.findall(value)
        tokens = [a or b or c or d for a, b, c, d in parts]
        key = tuple(None if b else (a or c or d) for a, b, c, d in parts)
        c = known.get(key)
        if c is None:
            words = [i for i, (a, _, _, _) in enumerate(parts) if not a]
            bucket = buckets.setdefault(len(tokens), [])
            for c in bucket:
                if _matches(c, key, words):
                    c.template = [t if t == k else None for t, k in zip(c.template, key)]
                    break
            else:
                c = _Cluster(list(key), len(out))
                bucket.append(c)
                out.append(c)
            known[key] = c
        c.values.append((tokens, counts[value]))
    return out


def _kind(values: list[str]) -> str:
    def is_ip(v: str) -> bool:
        try:
            ipaddress.ip_address(v)
            return True
        except ValueError:
            return False
    if values and all(is_ip(v) for v in values):
        return "IPAddress"
    if values and all(_NUMBER.fullmatch(v) for v in values):
        return "Number"
    if values and all(_UUID.fullmatch(v) for v in values):
        return "UUID"
    return "Token"


def _describe(c: _Cluster, counts: list[int]) -> tuple[str, str, str]:
    """(@pattern, @severityLabel, @tokens) of a cluster; counts: events per member value."""
    pattern = "".join("<*>" if t is None else t for t in c.template)
    severity = next((_SEVERITY[t.upper()] for t in c.template if t is not None and t.upper() in _SEVERITY),
                    "Unknown")
    tokens = []
    n = 0
    for i, t in enumerate(c.template):
        if t is not None:
            continue
        n += 1
        freq: dict[str, int] = {}
        for (toks, _), k in zip(c.values, counts):
            if k:
                freq[toks[i]] = freq.get(toks[i], 0) + k
        top = sorted(freq.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
        tokens.append({"dynamicTokenPosition": n, "isDynamic": True, "tokenString": "<*>",
                       "inferredTokenName": f"{_kind(list(freq))}-{n}", "enumerations": dict(top)})
    return pattern, severity, json.dumps(tokens, separators=(",", ":"))


def current_count(c: _Cluster) -> int:
    """Events of a cluster in the current window."""
    return sum(k for _, per in c.values for (_, cur), k in per.items() if cur)


def pattern_rows(rows: list[tuple], bin_start: int, bin_ms: int,
                 clusters: list[_Cluster] | None = None) -> list[tuple[Any, ...]]:
    """Rows of _patterns for `pattern`: (pattern, ratio, sample_count, severity, tokens,
    visualization), one per cluster with events in the current window, in cluster order."""
    clusters = cluster(rows) if clusters is None else clusters
    total = sum(int(r[3]) for r in rows if r[2])
    out = []
    for c in clusters:
        counts = [sum(k for (_, cur), k in per.items() if cur) for _, per in c.values]
        sample = sum(counts)
        if not sample:
            continue
        pattern, severity, tokens = _describe(c, counts)
        bins: dict[int, int] = {}
        for _, per in c.values:
            for (b, cur), k in per.items():
                if cur:
                    bins[b] = bins.get(b, 0) + k
        vis = json.dumps({str(bin_start + b * bin_ms): k for b, k in sorted(bins.items())}, separators=(",", ":"))
        out.append((pattern, sample / total if total else 0.0, sample, severity, tokens, vis))
    return out


def diff_rows(rows: list[tuple]) -> list[tuple[Any, ...]]:
    """Rows of _patterns for `diff`: (pattern, sample_count, previous_count, change, severity)."""
    out = []
    for c in cluster(rows):
        cur = [sum(k for (_, is_cur), k in per.items() if is_cur) for _, per in c.values]
        prev = sum(k for _, per in c.values for (_, is_cur), k in per.items() if not is_cur)
        pattern, severity, _ = _describe(c, [a + sum(k for (_, is_cur), k in per.items() if not is_cur)
                                            for a, (_, per) in zip(cur, c.values)])
        out.append((pattern, sum(cur), prev, sum(cur) - prev, severity))
    return out
