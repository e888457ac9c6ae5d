"""HTTP/S delivery policies: validation, the effective policy of a subscription, and the
delay before each retry.

A topic's `DeliveryPolicy` is `{"http": {"defaultHealthyRetryPolicy": {...},
"disableSubscriptionOverrides": bool, "defaultThrottlePolicy": {...},
"defaultRequestPolicy": {"headerContentType": ...}}}`; a subscription's is
`{"healthyRetryPolicy": {...}, "throttlePolicy": {...}, "requestPolicy": {...}}`, and
wins unless the topic disables overrides.

A retry policy has four phases, in order: `numNoDelayRetries` retries at once,
`numMinDelayRetries` retries `minDelayTarget` seconds apart, the backoff phase (the rest
of `numRetries` after the other three) whose delays grow from `minDelayTarget` to
`maxDelayTarget` by `backoffFunction`, and `numMaxDelayRetries` retries
`maxDelayTarget` apart. AWS's default for HTTP/S: 3 retries, 20 seconds apart. The total
policy time can't pass 3,600 seconds. (AWS adds jitter; mamori doesn't, so tests that
advance the clock know when each retry falls due.)
https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html
"""

from __future__ import annotations

import json
import math
from typing import Any

DEFAULT_RETRY = {"minDelayTarget": 20, "maxDelayTarget": 20, "numRetries": 3, "numMaxDelayRetries": 0,
                 "numNoDelayRetries": 0, "numMinDelayRetries": 0, "backoffFunction": "linear"}
DEFAULT_CONTENT_TYPE = "text/plain; charset=UTF-8"
BACKOFF = ("arithmetic", "exponential", "geometric", "linear")
MAX_TOTAL_SECONDS = 3600


class PolicyError(ValueError):
    pass


def _int(policy: dict[str, Any], name: str, low: int, high: int) -> int:
    value = policy.get(name, DEFAULT_RETRY.get(name))
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise PolicyError(f"{name} must be an integer between {low} and {high}")
    return value


def check_retry(policy: Any) -> dict[str, Any]:
    """The retry policy with defaults filled in; PolicyError if AWS would refuse it."""
    if not isinstance(policy, dict):
        raise PolicyError("healthyRetryPolicy must be an object")
    unknown = set(policy) - set(DEFAULT_RETRY)
    if unknown:
        raise PolicyError(f"unknown field {sorted(unknown)[0]}")
    out = {
        "minDelayTarget": _int(policy, "minDelayTarget", 1, MAX_TOTAL_SECONDS),
        "maxDelayTarget": _int(policy, "maxDelayTarget", 1, MAX_TOTAL_SECONDS),
        "numRetries": _int(policy, "numRetries", 0, 100),
        "numMaxDelayRetries": _int(policy, "numMaxDelayRetries", 0, 100),
        "numNoDelayRetries": _int(policy, "numNoDelayRetries", 0, 100),
        "numMinDelayRetries": _int(policy, "numMinDelayRetries", 0, 100),
        "backoffFunction": policy.get("backoffFunction", "linear"),
    }
    if out["backoffFunction"] not in BACKOFF:
        raise PolicyError("backoffFunction must be one of " + ", ".join(BACKOFF))
    if out["minDelayTarget"] > out["maxDelayTarget"]:
        raise PolicyError("minDelayTarget must be less than or equal to maxDelayTarget")
    phases = out["numNoDelayRetries"] + out["numMinDelayRetries"] + out["numMaxDelayRetries"]
    if phases > out["numRetries"]:
        raise PolicyError("numRetries must be at least the sum of the retries of the other phases")
    if sum(delays(out)) > MAX_TOTAL_SECONDS:
        raise PolicyError(f"the total retry time can't be greater than {MAX_TOTAL_SECONDS} seconds")
    return out


def check_topic_policy(text: str) -> dict[str, Any]:
    doc = _json(text)
    http = doc.get("http", {})
    if not isinstance(http, dict):
        raise PolicyError("http must be an object")
    if "defaultHealthyRetryPolicy" in http:
        check_retry(http["defaultHealthyRetryPolicy"])
    _check_request_policy(http.get("defaultRequestPolicy"))
    return doc


def check_subscription_policy(text: str) -> dict[str, Any]:
    doc = _json(text)
    if "healthyRetryPolicy" in doc:
        check_retry(doc["healthyRetryPolicy"])
    _check_request_policy(doc.get("requestPolicy"))
    return doc


def _check_request_policy(policy: Any) -> None:
    if policy is None:
        return
    if not isinstance(policy, dict) or not isinstance(policy.get("headerContentType", ""), str):
        raise PolicyError("requestPolicy must be an object with a string headerContentType")


def _json(text: str) -> dict[str, Any]:
    try:
        doc = json.loads(text)
    except ValueError:
        raise PolicyError("the policy is not valid JSON") from None
    if not isinstance(doc, dict):
        raise PolicyError("the policy must be a JSON object")
    return doc


def topic_effective(topic_policy: str | None) -> dict[str, Any]:
    """The topic's EffectiveDeliveryPolicy: its DeliveryPolicy over AWS's defaults."""
    http: dict[str, Any] = {"defaultHealthyRetryPolicy": dict(DEFAULT_RETRY), "disableSubscriptionOverrides": False,
                            "defaultRequestPolicy": {"headerContentType": DEFAULT_CONTENT_TYPE}}
    if topic_policy:
        mine = json.loads(topic_policy).get("http", {})
        if "defaultHealthyRetryPolicy" in mine:
            http["defaultHealthyRetryPolicy"] = check_retry(mine["defaultHealthyRetryPolicy"])
        for key in ("disableSubscriptionOverrides", "defaultThrottlePolicy"):
            if key in mine:
                http[key] = mine[key]
        if mine.get("defaultRequestPolicy"):
            http["defaultRequestPolicy"] = dict(http["defaultRequestPolicy"], **mine["defaultRequestPolicy"])
    return {"http": http}


def subscription_effective(topic_policy: str | None, sub_policy: str | None) -> dict[str, Any]:
    """{"healthyRetryPolicy", "requestPolicy", ...} that applies to one HTTP/S subscription."""
    http = topic_effective(topic_policy)["http"]
    out: dict[str, Any] = {"healthyRetryPolicy": http["defaultHealthyRetryPolicy"],
                           "requestPolicy": http["defaultRequestPolicy"]}
    if "defaultThrottlePolicy" in http:
        out["throttlePolicy"] = http["defaultThrottlePolicy"]
    if sub_policy and not http.get("disableSubscriptionOverrides"):
        mine = json.loads(sub_policy)
        if "healthyRetryPolicy" in mine:
            out["healthyRetryPolicy"] = check_retry(mine["healthyRetryPolicy"])
        if mine.get("requestPolicy"):
            out["requestPolicy"] = dict(out["requestPolicy"], **mine["requestPolicy"])
        if "throttlePolicy" in mine:
            out["throttlePolicy"] = mine["throttlePolicy"]
    return out


def delays(policy: dict[str, Any]) -> list[float]:
    """Seconds to wait before retry 1, 2, ... numRetries."""
    low, high = policy["minDelayTarget"], policy["maxDelayTarget"]
    no_delay, pre, post = policy["numNoDelayRetries"], policy["numMinDelayRetries"], policy["numMaxDelayRetries"]
    backoff = max(policy["numRetries"] - no_delay - pre - post, 0)
    out: list[float] = [0.0] * no_delay + [float(low)] * pre
    for k in range(1, backoff + 1):
        out.append(_backoff(policy["backoffFunction"], low, high, k, backoff))
    out += [float(high)] * post
    return out


def _backoff(function: str, low: float, high: float, k: int, n: int) -> float:
    """Delay of backoff retry k of n, from `low` (k=1) to `high` (k=n). AWS names the
    curves without giving formulas; these have the named shapes."""
    if n <= 1 or low == high:
        return float(high if n >= 1 else low)
    x = (k - 1) / (n - 1)  # 0 .. 1
    if function == "linear":
        value = low + (high - low) * x
    elif function == "arithmetic":  # slow start, quadratic growth
        value = low + (high - low) * x * x
    elif function == "geometric":  # equal ratios between delays
        value = low * math.pow(high / low, x)
    else:  # exponential: doubling from low, capped at high
        value = min(low * math.pow(2, k - 1), high) if k < n else high
    return float(round(value))
