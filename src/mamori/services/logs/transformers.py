"""Log transformers: PutTransformer, GetTransformer, DeleteTransformer, TestTransformer.

A transformer is a list of processors run over each event; the first must be a parser.
mamori runs these processors: parseJSON, parseKeyValue, csv, addKeys, deleteKeys,
renameKeys, copyValue, moveKeys, lowerCaseString, upperCaseString, trimString,
typeConverter, substituteString, splitString. A configuration naming another processor
is refused with a message that names it (never silently different output). Stored
transformers are not yet applied at ingestion.
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CloudWatch-Logs-Transformation-Processors.html
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from mamori.errors import error
from mamori.gateway.context import RequestContext
from mamori.services.logs.common import (
    GROUP,
    group_arn,
    group_name,
    invalid,
    resource_tag_keys,
)

PARSERS = {"parseJSON", "parseKeyValue", "csv", "grok", "parseCloudfront", "parseRoute53", "parseToOCSF",
           "parsePostgres", "parseVPC", "parseWAF"}
SUPPORTED = {"parseJSON", "parseKeyValue", "csv", "addKeys", "deleteKeys", "renameKeys", "copyValue", "moveKeys",
             "lowerCaseString", "upperCaseString", "trimString", "typeConverter", "substituteString", "splitString"}
MAX_PROCESSORS = 20


def check_config(config: list[dict[str, Any]]) -> None:
    if not config:
        raise invalid("transformerConfig must contain at least one processor.")
    if len(config) > MAX_PROCESSORS:
        raise invalid(f"A transformer can have at most {MAX_PROCESSORS} processors.")
    for index, processor in enumerate(config):
        kinds = [k for k, v in processor.items() if v is not None]
        if len(kinds) != 1:
            raise invalid("Each processor must specify exactly one processor type.")
        kind = kinds[0]
        if index == 0 and kind not in PARSERS:
            raise invalid("The first processor in a transformer must be a parser.")
        if index > 0 and kind in PARSERS and kind != "parseJSON" and kind != "parseKeyValue" and kind != "csv":
            raise invalid(f"{kind} can only be the first processor of a transformer.")
        if kind not in SUPPORTED:
            raise invalid(f"The {kind} processor is not supported by mamori yet.")


def _get(record: dict[str, Any], key: str) -> Any:
    node: Any = record
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _has(record: dict[str, Any], key: str) -> bool:
    node: Any = record
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _set(record: dict[str, Any], key: str, value: Any, overwrite: bool = True) -> None:
    parts = key.split(".")
    node = record
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    if overwrite or parts[-1] not in node:
        node[parts[-1]] = value


def _delete(record: dict[str, Any], key: str) -> Any:
    parts = key.split(".")
    node: Any = record
    for part in parts[:-1]:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node.pop(parts[-1], None) if isinstance(node, dict) else None


def _source(record: dict[str, Any], message: str, key: str | None) -> str | None:
    if not key or key == "@message":
        return message
    value = _get(record, key)
    return value if isinstance(value, str) else None


def _place(record: dict[str, Any], destination: str | None, parsed: dict[str, Any], overwrite: bool = True) -> None:
    if destination:
        _set(record, destination, parsed)
    else:
        for k, v in parsed.items():
            if overwrite or k not in record:
                record[k] = v


def _convert(value: Any, kind: str) -> Any:
    try:
        if kind == "integer":
            return int(float(value))
        if kind == "double":
            return float(value)
        if kind == "boolean":
            return str(value).lower() == "true"
        return value if isinstance(value, str) else json.dumps(value)
    except (TypeError, ValueError):
        return value


def transform(config: list[dict[str, Any]], message: str) -> dict[str, Any] | None:
    """The record the processors make of `message`; None when the parser cannot read it."""
    record: dict[str, Any] = {}
    for processor in config:
        kind, spec = next((k, v) for k, v in processor.items() if v is not None)
        if kind == "parseJSON":
            text = _source(record, message, spec.get("source"))
            try:
                parsed = json.loads(text) if text is not None else None
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                return None if not record else record
            _place(record, spec.get("destination"), parsed)
        elif kind == "parseKeyValue":
            text = _source(record, message, spec.get("source"))
            if text is None:
                continue
            parsed = {}
            for pair in text.split(spec.get("fieldDelimiter", "&")):
                key, sep, value = pair.partition(spec.get("keyValueDelimiter", "="))
                if sep and key:
                    parsed[spec.get("keyPrefix", "") + key] = value
                elif spec.get("nonMatchValue") is not None and key:
                    parsed[spec.get("keyPrefix", "") + key] = spec["nonMatchValue"]
            _place(record, spec.get("destination"), parsed, spec.get("overwriteIfExists", False) or not record)
        elif kind == "csv":
            text = _source(record, message, spec.get("source"))
            if text is None:
                continue
            row = next(csv.reader(io.StringIO(text), delimiter=spec.get("delimiter", ","),
                                  quotechar=spec.get("quoteCharacter", '"')), [])
            columns = spec.get("columns") or [f"column_{i + 1}" for i in range(len(row))]
            for name, value in zip(columns, row):
                record[name] = value
        elif kind == "addKeys":
            for e in spec["entries"]:
                _set(record, e["key"], e["value"], e.get("overwriteIfExists", False))
        elif kind == "deleteKeys":
            for key in spec["withKeys"]:
                _delete(record, key)
        elif kind in ("renameKeys", "moveKeys", "copyValue"):
            for e in spec["entries"]:
                src = e.get("key") if kind == "renameKeys" else e.get("source")
                dst = e.get("renameTo") if kind == "renameKeys" else e.get("target")
                if not _has(record, src):
                    continue
                if _has(record, dst) and not e.get("overwriteIfExists", False):
                    continue
                value = _get(record, src) if kind == "copyValue" else _delete(record, src)
                _set(record, dst, value)
        elif kind in ("lowerCaseString", "upperCaseString", "trimString"):
            for key in spec["withKeys"]:
                value = _get(record, key)
                if isinstance(value, str):
                    _set(record, key, value.lower() if kind == "lowerCaseString"
                         else value.upper() if kind == "upperCaseString" else value.strip())
        elif kind == "typeConverter":
            for e in spec["entries"]:
                if _has(record, e["key"]):
                    _set(record, e["key"], _convert(_get(record, e["key"]), e["type"]))
        elif kind == "substituteString":
            for e in spec["entries"]:
                value = _get(record, e["source"])
                if isinstance(value, str):
                    try:
                        _set(record, e["source"], re.sub(e["from"], e["to"], value))
                    except re.error:
                        raise invalid(f"Invalid regular expression in substituteString: {e['from']}") from None
        elif kind == "splitString":
            for e in spec["entries"]:
                value = _get(record, e["source"])
                if isinstance(value, str):
                    _set(record, e["source"], value.split(e["delimiter"]))
    return record


class TransformerOperations:
    def put_transformer(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = group_arn(ctx, name=group_name({"logGroupIdentifier": request["logGroupIdentifier"]}))
        doc = ctx.store.get(arn)
        ctx.authorize("logs:PutTransformer", arn, resource_tag_keys(doc or {}))
        check_config(request["transformerConfig"])
        if doc is None:
            raise error("ResourceNotFoundException", "The specified log group does not exist.")
        now = int(ctx.time() * 1000)
        previous = doc.get("_transformer") or {}
        doc["_transformer"] = {"transformerConfig": request["transformerConfig"],
                               "creationTime": previous.get("creationTime", now), "lastModifiedTime": now}
        ctx.store.put(arn, doc, kind=GROUP, account_id=ctx.account_id, region=ctx.region)
        return {}

    def get_transformer(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = group_arn(ctx, name=group_name({"logGroupIdentifier": request["logGroupIdentifier"]}))
        doc = ctx.store.get(arn)
        ctx.authorize("logs:GetTransformer", arn, resource_tag_keys(doc or {}))
        if doc is None or not doc.get("_transformer"):
            raise error("ResourceNotFoundException", "The specified transformer does not exist.")
        return {"logGroupIdentifier": request["logGroupIdentifier"], **doc["_transformer"]}

    def delete_transformer(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = group_arn(ctx, name=group_name({"logGroupIdentifier": request["logGroupIdentifier"]}))
        doc = ctx.store.get(arn)
        ctx.authorize("logs:DeleteTransformer", arn, resource_tag_keys(doc or {}))
        if doc is None or not doc.get("_transformer"):
            raise error("ResourceNotFoundException", "The specified transformer does not exist.")
        doc.pop("_transformer")
        ctx.store.put(arn, doc, kind=GROUP, account_id=ctx.account_id, region=ctx.region)
        return {}

    def test_transformer(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("logs:TestTransformer", "*")
        config = request["transformerConfig"]
        check_config(config)
        out = []
        for n, message in enumerate(request["logEventMessages"], start=1):
            record = transform(config, message)
            item = {"eventNumber": n, "eventMessage": message}
            if record is not None:
                item["transformedEventMessage"] = json.dumps(record, separators=(",", ":"))
            out.append(item)
        return {"transformedLogs": out}
