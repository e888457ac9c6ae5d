"""The `anomaly` command: a deterministic statistical model over the patterns of `pattern`.

What AWS documents
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Anomaly.html
- `anomaly` takes no parameters; it is "typically used after" `pattern` and analyses the
  output of the commands before it; `filter` before and `sort` after combine with it
  (its examples: `fields @timestamp, @message | pattern @message | anomaly`,
  `... | filter @type = "REPORT" | pattern @message | anomaly`,
  `... | pattern @message | anomaly | sort @timestamp desc`).
- It finds five types of anomalies: pattern frequency, new pattern, token variation,
  numerical token, HTTP error code.
- Its output "preserves all fields from the input data and adds anomaly detection
  results". The page names none of the added fields, nor how the ML model decides.
- Priority, in the Anomaly structure of the anomaly detectors (API_Anomaly.html), is HIGH,
  MEDIUM or LOW, "computed based on log severity labels such as FATAL and ERROR and the
  amount of deviation from the baseline".

What mamori does where AWS is silent (its own choices)
- `anomaly` must follow `pattern` (filter, sort, fields, display, limit may sit between);
  elsewhere (no pattern, after stats, with diff) the query is refused with a message that
  names it.
- Rows: one per pattern found anomalous (patterns without an anomaly are dropped), with
  all the fields of `pattern` (@pattern, @ratio, @sampleCount, @severityLabel, @tokens,
  @visualization) and five added fields, named by mamori after the Anomaly structure:
    @timestamp     the first event of the anomaly (for a drop: the start of the quiet bin)
    @anomalyType   New Pattern | Pattern Frequency | Token Variation | Numerical Token |
                   HTTP Error Code
    @description   a sentence with the counts behind the decision
    @priority      HIGH | MEDIUM | LOW
    @anomalyScore  -log10 of the probability behind the decision (2 decimals, at most 300)
  Default order: priority (HIGH first), then score (highest first), then pattern.
- The model, trained on the queried events themselves (nothing is kept between queries):
  1. Span: from the earliest to the latest event of the queried log groups in the query's
     time range (before any filter, so that a filtered query keeps the same span), cut
     into 24 bins of equal width (at least 1 ms). Bins 0-11 are the baseline, bins 12-23
     the evaluation period.
  2. Per pattern (the clusters of `pattern`): B events in the baseline, L in the
     evaluation period, c_i in bin i; baseline rate lambda = B / 12 per bin.
  3. New Pattern: B = 0 and L > 0, always an anomaly. p = 0.5^L, the chance that L events
     of a pattern as frequent in both halves all fall in the second one.
  4. Pattern Frequency (B > 0), each evaluation bin i: if the pattern kept its rate, of
     the N = B + c_i events of the 13 bins (baseline and bin i) each falls in bin i with
     probability 1/13, so c_i ~ Binomial(N, 1/13) (the exact conditional test of two
     Poisson rates, which allows for the baseline's own noise). A rise when c_i >= 5,
     c_i >= 2 lambda and p = P(X >= c_i) < 1e-4; a drop when lambda >= 5,
     c_i <= lambda / 2 and p = P(X <= c_i) < 1e-4. The bin with the smallest p is reported.
  5. Token Variation (B > 0): a dynamic token whose baseline values are enumerable (1 to
     10 distinct values, at least 5 baseline events per distinct value) takes, in k events
     of the evaluation period, values it never took in the baseline. p = (L / (B + L))^k,
     the chance that k events of the pattern all fall in the evaluation period; an anomaly
     when p < 1e-3. It is an HTTP Error Code anomaly instead when every value of the token
     (baseline and new) is a 3-digit number from 100 to 599 and a new one is 400 or more.
  6. Numerical Token (B > 0): a dynamic token whose values are all numbers, not
     enumerable (more than 10 distinct baseline values) and repeating (at most half as
     many distinct baseline values as baseline events, which leaves out counters, ids and
     epoch times). Baseline median m and median absolute
     deviation MAD (> 0) of its values, one value per event. For each evaluation bin with
     at least 5 events, the median x of the bin's values: z = 0.6745 (x - m) / MAD, and
     p = erfc(|z| / sqrt 2) (two-sided normal tail); an anomaly when p < 1e-4.
  7. A pattern with several anomalies reports the one with the smallest p.
  8. Priority: severity points (2 for @severityLabel Error, 1 for Warning, 0 otherwise)
     plus deviation points (2 when the score is >= 10, 1 when >= 4, 0 otherwise):
     3 or more HIGH, 2 MEDIUM, less LOW.
- Not modelled: suppression and the anomaly visibility time of detectors (those belong to
  the anomaly detectors, not to a query), learning from history outside the query's range.
"""

from __future__ import annotations

import math
import re
from typing import Any

from mamori.services.logs.insights import clusters

BINS = 24
BASELINE_BINS = 12
THRESHOLD = 1e-4        # frequency and numerical token anomalies
NOVELTY = 1e-3          # token variation and HTTP error code anomalies
MIN_RISE = 5
MIN_DROP_RATE = 5.0
MAX_ENUM = 10
PER_VALUE = 5
_STATUS = re.compile(r"[1-5][0-9][0-9]")
_SEVERITY_POINTS = {"Error": 2, "Warning": 1}
_RANK = {"HIGH": 0, "MEDIUM": 1, "LOW": 2}


def _log_binom(k: int, n: int, q: float) -> float:
    return (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
            + k * math.log(q) + (n - k) * math.log1p(-q))


def binom_upper(k: int, n: int, q: float) -> float:
    """log10 P(Binomial(n, q) >= k); 0 when k is not above the mean."""
    if k <= n * q:
        return 0.0
    total, term, j = 1.0, 1.0, k
    while j < n and term > 1e-17:  # pmf(j+1)/pmf(j) = (n-j)/(j+1) q/(1-q) < 1 above the mean
        term *= (n - j) / (j + 1) * q / (1 - q)
        total += term
        j += 1
    return (_log_binom(k, n, q) + math.log(total)) / math.log(10)


def binom_lower(k: int, n: int, q: float) -> float:
    """log10 P(Binomial(n, q) <= k); 0 when k is not below the mean."""
    if k >= n * q:
        return 0.0
    total, term, j = 1.0, 1.0, k
    while j > 0 and term > 1e-17:  # pmf(j-1)/pmf(j) = j/(n-j+1) (1-q)/q < 1 below the mean
        term *= j / (n - j + 1) * (1 - q) / q
        total += term
        j -= 1
    return (_log_binom(k, n, q) + math.log(total)) / math.log(10)


def _score(log10_p: float) -> float:
    return round(min(300.0, -log10_p), 2) + 0.0


def _median(pairs: list[tuple[float, int]]) -> float:
    """The median of values given with their counts (the lower middle one for an even total)."""
    pairs = sorted(pairs)
    half, seen = (sum(n for _, n in pairs) + 1) // 2, 0
    for v, n in pairs:
        seen += n
        if seen >= half:
            return v
    return math.nan


def normal_tail(z: float) -> float:
    """log10 of the two-sided normal tail P(|Z| >= z)."""
    p = math.erfc(abs(z) / math.sqrt(2))
    if p > 0:
        return math.log10(p)
    x = abs(z) / math.sqrt(2)  # erfc(x) ~ exp(-x^2) / (x sqrt(pi)) far out
    return (-x * x - math.log(x * math.sqrt(math.pi))) / math.log(10)


def _numeric(position: int, i: int, c: clusters._Cluster, fine: dict[str, dict[int, list]], t0: int,
             width: int) -> list[tuple]:
    base: dict[float, int] = {}
    late: dict[int, list[tuple[float, int]]] = {}
    first: dict[int, int] = {}
    for tokens, _ in c.values:
        if not clusters._NUMBER.fullmatch(tokens[i]):
            return []
        x = float(tokens[i])
        for b, (n, ts) in fine.get("".join(tokens), {}).items():
            if b < BASELINE_BINS:
                base[x] = base.get(x, 0) + n
            else:
                late.setdefault(b, []).append((x, n))
                first[b] = min(first.get(b, ts), ts)
    events = sum(base.values())
    if len(base) <= MAX_ENUM or len(base) * 2 > events:
        return []
    m = _median(list(base.items()))
    mad = _median([(abs(x - m), n) for x, n in base.items()])
    if not mad > 0:
        return []
    found = []
    for b, pairs in sorted(late.items()):
        if sum(n for _, n in pairs) < MIN_RISE:
            continue
        x = _median(pairs)
        z = 0.6745 * (x - m) / mad
        p = normal_tail(z)
        if p < math.log10(THRESHOLD):
            lo = t0 + b * width
            found.append((p, "Numerical Token",
                          f"Numerical token: dynamic token {position} had a median of {x:g} from {_when(lo)} to "
                          f"{_when(lo + width)}, against a baseline median of {m:g} (MAD {mad:g})", first[b]))
    return found


def _priority(severity: str, score: float) -> str:
    points = _SEVERITY_POINTS.get(severity, 0) + (2 if score >= 10 else 1 if score >= 4 else 0)
    return "HIGH" if points >= 3 else "MEDIUM" if points == 2 else "LOW"


def _when(ms: int) -> str:
    import datetime as dt
    t = dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc)
    return t.strftime("%Y-%m-%d %H:%M:%S")


def _detect(c: clusters._Cluster, fine: dict[str, dict[int, list]], t0: int, width: int) -> tuple | None:
    """(log10 p, type, description, timestamp) of the strongest anomaly of a cluster, or None."""
    per_bin: dict[int, int] = {}
    first: dict[int, int] = {}
    for tokens, _ in c.values:
        for b, (n, ts) in fine.get("".join(tokens), {}).items():
            per_bin[b] = per_bin.get(b, 0) + n
            first[b] = min(first.get(b, ts), ts)
    base = sum(n for b, n in per_bin.items() if b < BASELINE_BINS)
    late = {b: n for b, n in per_bin.items() if b >= BASELINE_BINS}
    evaluated = sum(late.values())
    found: list[tuple] = []
    if base == 0:
        if evaluated:
            ts = min(first[b] for b in late)
            found.append((evaluated * math.log10(0.5), "New Pattern",
                          f"New pattern: {evaluated} events in the evaluation period (from {_when(ts)}), "
                          "none in the baseline period", ts))
        return min(found) if found else None
    lam = base / BASELINE_BINS
    q = 1 / (BASELINE_BINS + 1)
    for b in range(BASELINE_BINS, BINS):
        n = late.get(b, 0)
        lo, hi = t0 + b * width, t0 + (b + 1) * width
        if n >= MIN_RISE and n >= 2 * lam:
            p = binom_upper(n, base + n, q)
            if p < math.log10(THRESHOLD):
                found.append((p, "Pattern Frequency",
                              f"Pattern frequency rose: {n} events from {_when(lo)} to {_when(hi)}, against a "
                              f"baseline of {lam:.2f} per {width / 1000:g} s", first[b]))
        elif lam >= MIN_DROP_RATE and n <= lam / 2:
            p = binom_lower(n, base + n, q)
            if p < math.log10(THRESHOLD):
                found.append((p, "Pattern Frequency",
                              f"Pattern frequency fell: {n} events from {_when(lo)} to {_when(hi)}, against a "
                              f"baseline of {lam:.2f} per {width / 1000:g} s", lo))
    position = 0
    for i, t in enumerate(c.template):
        if t is not None:
            continue
        position += 1
        seen: dict[str, int] = {}
        new: dict[str, int] = {}
        new_first: int | None = None
        for tokens, _ in c.values:
            bins = fine.get("".join(tokens), {})
            b_n = sum(n for b, (n, _) in bins.items() if b < BASELINE_BINS)
            if b_n:
                seen[tokens[i]] = seen.get(tokens[i], 0) + b_n
        if len(seen) > MAX_ENUM:
            found.extend(_numeric(position, i, c, fine, t0, width))
            continue
        if not seen or sum(seen.values()) < PER_VALUE * len(seen):
            continue
        for tokens, _ in c.values:
            if tokens[i] in seen:
                continue
            for b, (n, ts) in fine.get("".join(tokens), {}).items():
                if b >= BASELINE_BINS:
                    new[tokens[i]] = new.get(tokens[i], 0) + n
                    new_first = ts if new_first is None else min(new_first, ts)
        if not new:
            continue
        k = sum(new.values())
        values = set(seen) | set(new)
        http = all(_STATUS.fullmatch(v) for v in values) and any(int(v) >= 400 for v in new)
        kind = "HTTP Error Code" if http else "Token Variation"
        listed = ", ".join(f"{v} ({n} events)" for v, n in sorted(new.items(), key=lambda kv: (-kv[1], kv[0])))
        p = k * math.log10(evaluated / (base + evaluated))
        if p >= math.log10(NOVELTY):
            continue
        found.append((p, kind,
                      f"{'New HTTP status code' if http else 'Token variation'}: dynamic token {position} took "
                      f"{listed}, never seen in the baseline period (baseline values: {', '.join(sorted(seen))})",
                      new_first))
    return min(found, key=lambda f: f[0]) if found else None


def anomaly_rows(rows: list[tuple], fine: dict[str, dict[int, list]], bin_start: int, bin_ms: int,
                 t0: int, width: int) -> list[tuple[Any, ...]]:
    """Rows of _patterns when `anomaly` follows `pattern`: the six columns of
    clusters.pattern_rows, then ts, anomaly_type, description, priority, score, anomalous,
    priority_rank. fine: value -> {fine bin: [events, first ts]}."""
    out = []
    found = clusters.cluster(rows)
    described = clusters.pattern_rows(rows, bin_start, bin_ms, found)
    for c, row in zip([c for c in found if clusters.current_count(c)], described):
        hit = _detect(c, fine, t0, width)
        if hit is None:
            out.append(row + (None, None, None, None, None, False, 3))
            continue
        log10_p, kind, description, ts = hit
        score = _score(log10_p)
        priority = _priority(row[3], score)
        out.append(row + (ts, kind, description, priority, score, True, _RANK[priority]))
    return out
