"""Connections (auth for HTTP endpoints) and API destinations (HTTP targets of rules).

A connection holds BASIC (username/password), API_KEY (header name/value) or
OAUTH_CLIENT_CREDENTIALS (client id/secret, token endpoint) parameters plus extra
header/query/body parameters. Secret values (password, API key value, client secret,
parameters marked IsValueSecret) are sealed in the store's secret column, never in the
document, and Describe never returns them (AWS keeps them in Secrets Manager).

Invoking an API destination: the target's rendered input is the body, sent with the
destination's method to its endpoint (`*` replaced by HttpParameters.PathParameterValues),
headers and query parameters from the connection and the target, and the connection's
auth. 401, 407, 409, 429 and 5xx answers are retried, other failures are final.
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-api-destinations.html

OAuth: the access token is kept (in memory, per connection version) and reused until it
is within 60 seconds of its `expires_in`, or until the endpoint answers 401 or 407; the
retry then fetches a new one, as AWS does
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-target-connection-auth.html).
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import TYPE_CHECKING, Any

from mamori.errors import error
from mamori.gateway.context import RequestContext
from mamori.services.events.model import (
    API_DESTINATION,
    CONNECTION,
    CONNECTION_NAME,
    not_found,
    validation,
)
from mamori.services.events.targets import Failure

if TYPE_CHECKING:  # pragma: no cover
    from mamori.runtime import Runtime

AUTH_TYPES = ("BASIC", "OAUTH_CLIENT_CREDENTIALS", "API_KEY")
HTTP_METHODS = ("POST", "GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE")
RETRIABLE_STATUS = (401, 407, 409, 429)
TIMEOUT_SECONDS = 5


def _split_secrets(auth: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """AuthParameters -> (public document, secret values)."""
    public = json.loads(json.dumps(auth, default=str))
    secrets: dict[str, Any] = {}
    basic = public.get("BasicAuthParameters")
    if basic and "Password" in basic:
        secrets["Password"] = basic.pop("Password")
    api_key = public.get("ApiKeyAuthParameters")
    if api_key and "ApiKeyValue" in api_key:
        secrets["ApiKeyValue"] = api_key.pop("ApiKeyValue")
    oauth = public.get("OAuthParameters")
    if oauth and "ClientSecret" in (oauth.get("ClientParameters") or {}):
        secrets["ClientSecret"] = oauth["ClientParameters"].pop("ClientSecret")
    for holder_name, holder in (("invocation", public.get("InvocationHttpParameters")),
                                ("oauth", (oauth or {}).get("OAuthHttpParameters"))):
        for group in ("HeaderParameters", "QueryStringParameters", "BodyParameters"):
            for i, param in enumerate((holder or {}).get(group) or []):
                if param.get("IsValueSecret"):
                    secrets[f"{holder_name}:{group}:{i}"] = param.pop("Value", "")
    return public, secrets


def _merge_secrets(public: dict[str, Any], secrets: dict[str, Any]) -> dict[str, Any]:
    auth = json.loads(json.dumps(public))
    if "Password" in secrets:
        auth.setdefault("BasicAuthParameters", {})["Password"] = secrets["Password"]
    if "ApiKeyValue" in secrets:
        auth.setdefault("ApiKeyAuthParameters", {})["ApiKeyValue"] = secrets["ApiKeyValue"]
    if "ClientSecret" in secrets:
        auth.setdefault("OAuthParameters", {}).setdefault("ClientParameters", {})["ClientSecret"] = secrets["ClientSecret"]
    oauth = auth.get("OAuthParameters") or {}
    for holder_name, holder in (("invocation", auth.get("InvocationHttpParameters")),
                                ("oauth", oauth.get("OAuthHttpParameters"))):
        for group in ("HeaderParameters", "QueryStringParameters", "BodyParameters"):
            for i, param in enumerate((holder or {}).get(group) or []):
                key = f"{holder_name}:{group}:{i}"
                if key in secrets:
                    param["Value"] = secrets[key]
    return auth


def _check_auth(kind: str, auth: dict[str, Any]) -> None:
    if kind not in AUTH_TYPES:
        raise validation(f"1 validation error detected: Value '{kind}' at 'authorizationType' failed to satisfy "
                         f"constraint: Member must satisfy enum value set: [{', '.join(AUTH_TYPES)}]")
    needed = {"BASIC": "BasicAuthParameters", "API_KEY": "ApiKeyAuthParameters",
              "OAUTH_CLIENT_CREDENTIALS": "OAuthParameters"}[kind]
    if not auth.get(needed):
        raise validation(f"Parameter AuthParameters.{needed} is required for authorization type {kind}.")


class ConnectionsMixin:
    runtime: Any

    def _connection(self, ctx: RequestContext, name: str) -> dict[str, Any]:
        for doc in ctx.store.list(CONNECTION, account_id=ctx.account_id, region=ctx.region):
            if doc["Name"] == name:
                return doc
        raise not_found(f"Connection '{name}' does not exist.")

    def _connection_arn(self, ctx: RequestContext, name: str) -> str:
        for doc in ctx.store.list(CONNECTION, account_id=ctx.account_id, region=ctx.region):
            if doc["Name"] == name:
                return doc["ConnectionArn"]
        return f"arn:aws:events:{ctx.region}:{ctx.account_id}:connection/{name}"

    def create_connection(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["Name"]
        arn = f"arn:aws:events:{ctx.region}:{ctx.account_id}:connection/{name}/{uuid.uuid4()}"
        ctx.authorize("events:CreateConnection", arn)
        if not CONNECTION_NAME.match(name):
            raise validation("Connection name must match [\\.\\-_A-Za-z0-9]+ and be at most 64 characters.")
        if any(d["Name"] == name for d in ctx.store.list(CONNECTION, account_id=ctx.account_id, region=ctx.region)):
            raise error("ResourceAlreadyExistsException", f"Connection {name} already exists.")
        kind = request["AuthorizationType"]
        auth = request.get("AuthParameters") or {}
        _check_auth(kind, auth)
        public, secrets = _split_secrets(auth)
        now = ctx.time()
        doc = {"ConnectionArn": arn, "Name": name, "AuthorizationType": kind, "AuthParameters": public,
               "ConnectionState": "AUTHORIZED", "CreationTime": now, "LastModifiedTime": now,
               "LastAuthorizedTime": now,
               "SecretArn": f"arn:aws:secretsmanager:{ctx.region}:{ctx.account_id}:secret:events!connection/"
                            f"{name}/{arn.rsplit('/', 1)[-1]}"}
        if request.get("Description") is not None:
            doc["Description"] = request["Description"]
        ctx.store.put(arn, doc, kind=CONNECTION, account_id=ctx.account_id, region=ctx.region,
                      secret=json.dumps(secrets).encode())
        return {k: doc[k] for k in ("ConnectionArn", "ConnectionState", "CreationTime", "LastModifiedTime")}

    def describe_connection(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["Name"]
        ctx.authorize("events:DescribeConnection", self._connection_arn(ctx, name))
        return dict(self._connection(ctx, name))

    def list_connections(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("events:ListConnections")
        prefix = request.get("NamePrefix") or ""
        items = []
        for doc in sorted(ctx.store.list(CONNECTION, account_id=ctx.account_id, region=ctx.region),
                          key=lambda d: d["Name"]):
            if doc["Name"].startswith(prefix) and (not request.get("ConnectionState")
                                                   or doc["ConnectionState"] == request["ConnectionState"]):
                items.append({k: doc[k] for k in ("ConnectionArn", "Name", "ConnectionState", "StateReason",
                                                  "AuthorizationType", "CreationTime", "LastModifiedTime",
                                                  "LastAuthorizedTime") if k in doc})
        return {"Connections": items}

    def update_connection(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["Name"]
        ctx.authorize("events:UpdateConnection", self._connection_arn(ctx, name))
        doc = self._connection(ctx, name)
        secrets = json.loads((ctx.store.get_secret(doc["ConnectionArn"]) or b"{}").decode())
        auth = _merge_secrets(doc["AuthParameters"], secrets)
        if request.get("AuthorizationType"):
            doc["AuthorizationType"] = request["AuthorizationType"]
        for key, value in (request.get("AuthParameters") or {}).items():
            if isinstance(value, dict) and isinstance(auth.get(key), dict):
                auth[key].update(value)
            else:
                auth[key] = value
        _check_auth(doc["AuthorizationType"], auth)
        doc["AuthParameters"], secrets = _split_secrets(auth)
        if "Description" in request:
            doc["Description"] = request["Description"]
        doc["LastModifiedTime"] = ctx.time()
        doc["ConnectionState"] = "AUTHORIZED"
        ctx.store.put(doc["ConnectionArn"], doc, kind=CONNECTION, account_id=ctx.account_id, region=ctx.region,
                      secret=json.dumps(secrets).encode())
        return {k: doc[k] for k in ("ConnectionArn", "ConnectionState", "CreationTime", "LastModifiedTime",
                                    "LastAuthorizedTime")}

    def deauthorize_connection(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["Name"]
        ctx.authorize("events:DeauthorizeConnection", self._connection_arn(ctx, name))
        doc = self._connection(ctx, name)
        doc["ConnectionState"] = "DEAUTHORIZED"
        doc["LastModifiedTime"] = ctx.time()
        ctx.store.put(doc["ConnectionArn"], doc, kind=CONNECTION, account_id=ctx.account_id, region=ctx.region)
        return {k: doc[k] for k in ("ConnectionArn", "ConnectionState", "CreationTime", "LastModifiedTime",
                                    "LastAuthorizedTime")}

    def delete_connection(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["Name"]
        ctx.authorize("events:DeleteConnection", self._connection_arn(ctx, name))
        doc = self._connection(ctx, name)
        ctx.store.delete(doc["ConnectionArn"])
        return {"ConnectionArn": doc["ConnectionArn"], "ConnectionState": "DELETING",
                "CreationTime": doc["CreationTime"], "LastModifiedTime": ctx.time()}

    # -- API destinations ---------------------------------------------------------------------

    def _destination(self, ctx: RequestContext, name: str) -> dict[str, Any]:
        for doc in ctx.store.list(API_DESTINATION, account_id=ctx.account_id, region=ctx.region):
            if doc["Name"] == name:
                return doc
        raise not_found(f"An api-destination '{name}' does not exist.")

    def _destination_arn(self, ctx: RequestContext, name: str) -> str:
        for doc in ctx.store.list(API_DESTINATION, account_id=ctx.account_id, region=ctx.region):
            if doc["Name"] == name:
                return doc["ApiDestinationArn"]
        return f"arn:aws:events:{ctx.region}:{ctx.account_id}:api-destination/{name}"

    def _check_destination(self, ctx: RequestContext, doc: dict[str, Any]) -> None:
        if doc["HttpMethod"] not in HTTP_METHODS:
            raise validation(f"1 validation error detected: Value '{doc['HttpMethod']}' at 'httpMethod' failed to "
                             f"satisfy constraint: Member must satisfy enum value set: [{', '.join(HTTP_METHODS)}]")
        endpoint = doc["InvocationEndpoint"]
        if not endpoint.startswith(("https://", "http://")):
            raise validation("InvocationEndpoint must be an HTTPS URL.")
        if ctx.store.get(doc["ConnectionArn"]) is None:
            raise not_found(f"Connection '{doc['ConnectionArn'].split('/')[1] if '/' in doc['ConnectionArn'] else ''}'"
                            " does not exist.")
        rate = doc.get("InvocationRateLimitPerSecond", 300)
        if rate < 1:
            raise validation("InvocationRateLimitPerSecond must be at least 1.")

    def create_api_destination(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["Name"]
        arn = f"arn:aws:events:{ctx.region}:{ctx.account_id}:api-destination/{name}/{uuid.uuid4()}"
        ctx.authorize("events:CreateApiDestination", arn)
        if not CONNECTION_NAME.match(name):
            raise validation("Api destination name must match [\\.\\-_A-Za-z0-9]+ and be at most 64 characters.")
        if any(d["Name"] == name for d in ctx.store.list(API_DESTINATION, account_id=ctx.account_id,
                                                         region=ctx.region)):
            raise error("ResourceAlreadyExistsException", f"An api-destination '{name}' already exists.")
        now = ctx.time()
        doc = {"ApiDestinationArn": arn, "Name": name, "ApiDestinationState": "ACTIVE",
               "ConnectionArn": request["ConnectionArn"], "InvocationEndpoint": request["InvocationEndpoint"],
               "HttpMethod": request["HttpMethod"],
               "InvocationRateLimitPerSecond": request.get("InvocationRateLimitPerSecond", 300),
               "CreationTime": now, "LastModifiedTime": now}
        if request.get("Description") is not None:
            doc["Description"] = request["Description"]
        self._check_destination(ctx, doc)
        ctx.store.put(arn, doc, kind=API_DESTINATION, account_id=ctx.account_id, region=ctx.region)
        return {k: doc[k] for k in ("ApiDestinationArn", "ApiDestinationState", "CreationTime", "LastModifiedTime")}

    def describe_api_destination(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["Name"]
        ctx.authorize("events:DescribeApiDestination", self._destination_arn(ctx, name))
        return dict(self._destination(ctx, name))

    def list_api_destinations(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("events:ListApiDestinations")
        prefix = request.get("NamePrefix") or ""
        items = [dict(d) for d in sorted(ctx.store.list(API_DESTINATION, account_id=ctx.account_id,
                                                        region=ctx.region), key=lambda d: d["Name"])
                 if d["Name"].startswith(prefix)
                 and (not request.get("ConnectionArn") or d["ConnectionArn"] == request["ConnectionArn"])]
        return {"ApiDestinations": items}

    def update_api_destination(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["Name"]
        ctx.authorize("events:UpdateApiDestination", self._destination_arn(ctx, name))
        doc = self._destination(ctx, name)
        for key in ("Description", "ConnectionArn", "InvocationEndpoint", "HttpMethod",
                    "InvocationRateLimitPerSecond"):
            if request.get(key) is not None:
                doc[key] = request[key]
        self._check_destination(ctx, doc)
        doc["LastModifiedTime"] = ctx.time()
        ctx.store.put(doc["ApiDestinationArn"], doc, kind=API_DESTINATION, account_id=ctx.account_id,
                      region=ctx.region)
        return {k: doc[k] for k in ("ApiDestinationArn", "ApiDestinationState", "CreationTime", "LastModifiedTime")}

    def delete_api_destination(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["Name"]
        ctx.authorize("events:DeleteApiDestination", self._destination_arn(ctx, name))
        doc = self._destination(ctx, name)
        ctx.store.delete(doc["ApiDestinationArn"])
        return {}


# -- invocation --------------------------------------------------------------------------------


def _params(holder: dict[str, Any] | None, group: str) -> list[tuple[str, str]]:
    return [(p["Key"], str(p.get("Value", ""))) for p in (holder or {}).get(group) or []]


class TokenCache:
    """OAuth access tokens by connection (ARN and LastModifiedTime, so an update drops
    them), with their expiry on the mamori clock. Lost on restart: then fetched again."""

    REFRESH_BEFORE = 60.0

    def __init__(self) -> None:
        import threading

        self._tokens: dict[tuple[str, Any], tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, Any], now: float) -> str | None:
        with self._lock:
            found = self._tokens.get(key)
        if found is None or found[1] - now <= self.REFRESH_BEFORE:
            return None
        return found[0]

    def put(self, key: tuple[str, Any], token: str, expires: float) -> None:
        with self._lock:
            self._tokens[key] = (token, expires)

    def drop(self, key: tuple[str, Any]) -> None:
        with self._lock:
            self._tokens.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


def _oauth_token(auth: dict[str, Any]) -> tuple[str, float]:
    """A new access token from the authorization endpoint and its lifetime in seconds
    (`expires_in`; an hour when the answer has none)."""
    import requests

    oauth = auth.get("OAuthParameters") or {}
    client = oauth.get("ClientParameters") or {}
    extra = oauth.get("OAuthHttpParameters") or {}
    basic = base64.b64encode(f"{client.get('ClientID', '')}:{client.get('ClientSecret', '')}".encode()).decode()
    headers = {"Authorization": f"Basic {basic}", **dict(_params(extra, "HeaderParameters"))}
    method = oauth.get("HttpMethod", "POST")
    data = {"grant_type": "client_credentials", **dict(_params(extra, "BodyParameters"))}
    try:
        resp = requests.request(method, oauth.get("AuthorizationEndpoint", ""), headers=headers,
                                params=dict(_params(extra, "QueryStringParameters")),
                                data=data if method != "GET" else None, timeout=TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        raise Failure("TIMEOUT", f"OAuth token request failed: {type(exc).__name__}", True) from None
    if resp.status_code >= 300:
        raise Failure("NO_PERMISSIONS", f"OAuth token endpoint answered {resp.status_code}.",
                      resp.status_code >= 500 or resp.status_code == 429)
    try:
        answer = resp.json()
        token = str(answer["access_token"])
    except (ValueError, KeyError, TypeError):
        raise Failure("NO_PERMISSIONS", "OAuth token endpoint answered without an access_token.", False) from None
    try:
        lifetime = float(answer.get("expires_in", 3600))
    except (TypeError, ValueError):
        lifetime = 3600.0
    return token, lifetime


def invoke_api_destination(runtime: Runtime, target: dict[str, Any], payload: dict[str, Any], rule_arn: str,
                           tokens: TokenCache | None = None) -> None:
    import requests

    destination = runtime.store.get(target["Arn"])
    if destination is None:
        raise Failure("NO_RESOURCE", f"API destination {target['Arn']} does not exist.", False)
    connection = runtime.store.get(destination["ConnectionArn"])
    if connection is None:
        raise Failure("NO_RESOURCE", f"Connection {destination['ConnectionArn']} does not exist.", False)
    if connection.get("ConnectionState") != "AUTHORIZED":
        raise Failure("NO_PERMISSIONS", f"Connection is {connection.get('ConnectionState')}.", False)
    secrets = json.loads((runtime.store.get_secret(connection["ConnectionArn"]) or b"{}").decode())
    auth = _merge_secrets(connection.get("AuthParameters") or {}, secrets)
    invocation = auth.get("InvocationHttpParameters") or {}
    http = target.get("HttpParameters") or {}
    url = destination["InvocationEndpoint"]
    for value in http.get("PathParameterValues") or []:
        url = url.replace("*", value, 1)
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "Amazon/EventBridge/ApiDestinations"}
    headers.update(dict(_params(invocation, "HeaderParameters")))
    headers.update(http.get("HeaderParameters") or {})
    query = dict(_params(invocation, "QueryStringParameters"))
    query.update(http.get("QueryStringParameters") or {})
    kind = connection["AuthorizationType"]
    if kind == "BASIC":
        basic = auth.get("BasicAuthParameters") or {}
        token = base64.b64encode(f"{basic.get('Username', '')}:{basic.get('Password', '')}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    elif kind == "API_KEY":
        key = auth.get("ApiKeyAuthParameters") or {}
        headers[key.get("ApiKeyName", "x-api-key")] = key.get("ApiKeyValue", "")
    else:
        token_key = (connection["ConnectionArn"], connection.get("LastModifiedTime"))
        token = tokens.get(token_key, runtime.clock.time()) if tokens is not None else None
        if token is None:
            token, lifetime = _oauth_token(auth)
            if tokens is not None:
                tokens.put(token_key, token, runtime.clock.time() + lifetime)
        headers["Authorization"] = f"Bearer {token}"
    method = destination["HttpMethod"]
    body = payload["body"].encode("utf-8") if method not in ("GET", "HEAD") else None
    try:
        resp = requests.request(method, url, headers=headers, params=query, data=body, timeout=TIMEOUT_SECONDS)
    except requests.Timeout:
        raise Failure("TIMEOUT", f"The call to {url} timed out.", True) from None
    except requests.RequestException as exc:
        raise Failure("CONNECTION_FAILURE", f"The call to {url} failed: {type(exc).__name__}", True) from None
    if resp.status_code in (401, 407) and kind == "OAUTH_CLIENT_CREDENTIALS" and tokens is not None:
        tokens.drop(token_key)  # the retry fetches a new token
    if resp.status_code >= 300:
        retriable = resp.status_code in RETRIABLE_STATUS or resp.status_code >= 500
        code = "THROTTLING" if resp.status_code == 429 else "ERROR_FROM_TARGET"
        raise Failure(code, f"The endpoint answered HTTP {resp.status_code}.", retriable)
