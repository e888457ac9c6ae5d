"""What a target receives: the event, `Input`, `InputPath` or an `InputTransformer`.

https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_InputTransformer.html

Template substitution, as AWS writes it:
- a placeholder outside any JSON string is replaced by the JSON value (strings quoted,
  objects as JSON; a path that finds nothing gives `null`);
- a placeholder inside a JSON string literal ("... <state> ...") is replaced by the
  value's text as it is: "EventBridge doesn't escape values extracted by Input Path",
  and an object or array loses its internal quotes ("Detail is <detail>" gives
  "Detail is {resource-id: i-1, state: running}"); nothing found: empty
  (eb-transform-target-input.html, "Common issues with transforming input");
- a template that is plain text gets the value's raw text.
Reserved variables: aws.events.rule-arn, aws.events.rule-name,
aws.events.event.ingestion-time, aws.events.event (the event without `detail`) and
aws.events.event.json (the whole event).
"""

from __future__ import annotations

import json
import re
from typing import Any

from mamori.errors import AwsError, error

_PATH = re.compile(r"^\$(?:\.[A-Za-z0-9_\-/@ ]+|\[\d+\]|\.\*|\[\*\])*$")
_STEP = re.compile(r"\.([A-Za-z0-9_\-/@ ]+)|\[(\d+)\]|\.\*|\[\*\]")
_KEY = re.compile(r"^[A-Za-z0-9_\-]{1,256}$")
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_\-.]+)>")
RESERVED = ("aws.events.rule-arn", "aws.events.rule-name", "aws.events.event.ingestion-time",
            "aws.events.event", "aws.events.event.json")
_MISSING = object()


def valid_path(path: str) -> bool:
    return bool(_PATH.match(path))


def resolve(doc: Any, path: str) -> Any:
    """A JSONPath of the supported subset against `doc`; `_MISSING` when nothing is
    there. `*` collects the values of an object or array."""
    values = [doc]
    multi = False
    for m in _STEP.finditer(path[1:]):
        nxt = []
        name, index = m.group(1), m.group(2)
        for v in values:
            if name is not None:
                if isinstance(v, dict) and name in v:
                    nxt.append(v[name])
            elif index is not None:
                if isinstance(v, list) and int(index) < len(v):
                    nxt.append(v[int(index)])
            else:
                multi = True
                if isinstance(v, dict):
                    nxt.extend(v.values())
                elif isinstance(v, list):
                    nxt.extend(v)
        values = nxt
    if multi:
        return values
    return values[0] if values else _MISSING


def check_target_input(target: dict[str, Any]) -> AwsError | None:
    """PutTargets' validation of one target's input settings (None when fine)."""
    given = [k for k in ("Input", "InputPath", "InputTransformer") if target.get(k) is not None]
    if len(given) > 1:
        return error("ValidationException", "Only one of Input, InputPath, or InputTransformer must be provided.")
    if target.get("Input") is not None:
        try:
            json.loads(target["Input"])
        except ValueError:
            return error("ValidationException", "Input is not valid JSON text.")
    if target.get("InputPath") is not None and not valid_path(target["InputPath"]):
        return error("ValidationException", "InputPath is not a valid JSON path.")
    transformer = target.get("InputTransformer")
    if transformer is not None:
        paths = transformer.get("InputPathsMap") or {}
        if len(paths) > 100:
            return error("ValidationException", "InputPathsMap can contain at most 100 entries.")
        for key, path in paths.items():
            if not _KEY.match(key) or key.startswith("AWS.") or key in RESERVED:
                return error("ValidationException", f"InputTransformer contains an invalid key: {key}.")
            if not valid_path(path):
                return error("ValidationException", f"{path} is not a valid JSON path.")
        template = transformer.get("InputTemplate", "")
        if template.lstrip().startswith("{"):
            try:
                json.loads(_substitute(template, {k: "x" for k in paths}, {k: "x" for k in RESERVED},
                                       probe_only=True))
            except ValueError:
                return error("ValidationException", f"InputTemplate for target {target.get('Id', '')} "
                             "contains invalid JSON.")
    return None


def _text_of(value: Any) -> str:
    if value is _MISSING or value is None:
        return "" if value is _MISSING else "null"
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def _text_in_string(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False).replace('"', "")
    return _text_of(value)


def _substitute(template: str, values: dict[str, Any], reserved: dict[str, Any], probe_only: bool = False) -> str:
    """Walk the template, tracking JSON string literals, and replace placeholders."""
    json_like = template.lstrip()[:1] in ("{", "[", '"')
    out: list[str] = []
    in_string = False
    i = 0
    while i < len(template):
        ch = template[i]
        if json_like and ch == "\\" and in_string:
            out.append(template[i:i + 2])
            i += 2
            continue
        if json_like and ch == '"':
            in_string = not in_string
            out.append(ch)
            i += 1
            continue
        if ch == "<":
            m = _PLACEHOLDER.match(template, i)
            if m and (m.group(1) in values or m.group(1) in reserved):
                name = m.group(1)
                value = values[name] if name in values else reserved[name]
                if probe_only:
                    out.append("x" if in_string else '"x"')
                elif not json_like:
                    out.append(_text_of(value))
                elif in_string:
                    out.append(_text_in_string(value))
                else:
                    out.append("null" if value is _MISSING else json.dumps(value, separators=(",", ":")))
                i = m.end()
                continue
        out.append(ch)
        i += 1
    return "".join(out)


def render(target: dict[str, Any], event: dict[str, Any], rule: dict[str, Any], ingestion: str) -> str:
    """The text delivered to the target for `event`."""
    if target.get("Input") is not None:
        return target["Input"]
    if target.get("InputPath") is not None:
        value = resolve(event, target["InputPath"])
        return "null" if value is _MISSING else json.dumps(value, separators=(",", ":"))
    transformer = target.get("InputTransformer")
    if transformer is None:
        return json.dumps(event, separators=(",", ":"))
    values = {k: resolve(event, p) for k, p in (transformer.get("InputPathsMap") or {}).items()}
    reserved = {
        "aws.events.rule-arn": rule["Arn"],
        "aws.events.rule-name": rule["Name"],
        "aws.events.event.ingestion-time": ingestion,
        "aws.events.event": {k: v for k, v in event.items() if k != "detail"},
        "aws.events.event.json": event,
    }
    return _substitute(transformer["InputTemplate"], values, reserved)
