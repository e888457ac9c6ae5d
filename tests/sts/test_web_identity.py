"""AssumeRoleWithWebIdentity against a real local OpenID Connect identity provider: the
test serves discovery and JWKS over HTTP and signs ID tokens with `cryptography`."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class IdentityProvider:
    """An OIDC issuer on 127.0.0.1 with one RSA and one EC signing key."""

    def __init__(self):
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": idp.issuer, "jwks_uri": f"{idp.base}/keys"}
                elif self.path == "/keys":
                    body = {"keys": idp.jwks()}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.issuer = f"https://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def jwks(self):
        n = self.rsa.public_key().public_numbers()
        e = self.ec.public_key().public_numbers()
        return [
            {"kty": "RSA", "kid": "rsa-1", "alg": "RS256", "use": "sig",
             "n": b64(n.n.to_bytes((n.n.bit_length() + 7) // 8, "big")), "e": b64(n.e.to_bytes(3, "big"))},
            {"kty": "EC", "kid": "ec-1", "crv": "P-256", "alg": "ES256", "use": "sig",
             "x": b64(e.x.to_bytes(32, "big")), "y": b64(e.y.to_bytes(32, "big"))},
        ]

    def token(self, alg="RS256", **claims):
        body = {"iss": self.issuer, "aud": "my-app", "sub": "repo:acme/app:ref:refs/heads/main",
                "iat": int(time.time()), "exp": int(time.time()) + 600, **claims}
        header = {"alg": alg, "typ": "JWT", "kid": "rsa-1" if alg == "RS256" else "ec-1"}
        signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(body).encode())}".encode()
        if alg == "RS256":
            signature = self.rsa.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        else:
            r, s = utils.decode_dss_signature(self.ec.sign(signing_input, ec.ECDSA(hashes.SHA256())))
            signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return f"{signing_input.decode()}.{b64(signature)}"


@pytest.fixture(scope="module")
def idp():
    provider = IdentityProvider()
    yield provider
    provider.server.shutdown()


@pytest.fixture
def federated_role(mamori, idp):
    iam = mamori.client("iam")
    url = idp.issuer
    arns = [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]
    provider_arn = f"arn:aws:iam::{mamori.account_id}:oidc-provider/{url.removeprefix('https://')}"
    if provider_arn not in arns:
        iam.create_open_id_connect_provider(Url=url, ClientIDList=["my-app"])
    host = url.removeprefix("https://")
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": provider_arn}, "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{host}:aud": "my-app"},
                      "StringLike": {f"{host}:sub": "repo:acme/app:*"}}}]}
    name = f"ci-{uuid.uuid4().hex[:8]}"
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    return role, provider_arn


def anonymous_sts(mamori):
    return mamori.client("sts", config=Config(signature_version=UNSIGNED))


def assume(mamori, role, token, **kw):
    return anonymous_sts(mamori).assume_role_with_web_identity(
        RoleArn=role["Arn"], RoleSessionName="gha", WebIdentityToken=token, **kw)


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_a_verified_token_opens_a_role_session(mamori, idp, federated_role, alg):
    role, provider_arn = federated_role
    answer = assume(mamori, role, idp.token(alg=alg))
    assert answer["SubjectFromWebIdentityToken"] == "repo:acme/app:ref:refs/heads/main"
    assert answer["Audience"] == "my-app" and answer["Provider"] == idp.issuer
    session_arn = f"arn:aws:sts::{mamori.account_id}:assumed-role/{role['RoleName']}/gha"
    assert answer["AssumedRoleUser"]["Arn"] == session_arn
    creds = answer["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    sts = mamori.client("sts", aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                        aws_session_token=creds["SessionToken"])
    assert sts.get_caller_identity()["Arn"] == session_arn


def test_the_call_is_recorded_as_the_web_identity_user(mamori, idp, federated_role):
    role, _ = federated_role
    token = idp.token(sub="repo:acme/app:pull_request")
    creds = assume(mamori, role, token)["Credentials"]
    events = mamori.client("cloudtrail").lookup_events(LookupAttributes=[
        {"AttributeKey": "EventName", "AttributeValue": "AssumeRoleWithWebIdentity"}])["Events"]
    records = [json.loads(e["CloudTrailEvent"]) for e in events]
    mine = [r for r in records if r["userIdentity"].get("userName") == "repo:acme/app:pull_request"]
    assert mine, records
    identity = mine[0]["userIdentity"]
    assert identity["type"] == "WebIdentityUser"
    assert identity["identityProvider"] == idp.issuer.removeprefix("https://")
    raw = json.dumps(mine[0])
    assert creds["SessionToken"] not in raw and creds["SecretAccessKey"] not in raw
    assert token.split(".")[2] not in raw  # the ID token is a bearer secret too
    assert mine[0]["responseElements"]["credentials"]["accessKeyId"] == creds["AccessKeyId"]


def error_of(call):
    with pytest.raises(ClientError) as err:
        call()
    return err.value.response["Error"]["Code"], err.value.response["Error"]["Message"]


def test_tokens_the_trust_policy_or_the_provider_refuse(mamori, idp, federated_role, mamori_clock):
    role, _ = federated_role
    code, message = error_of(lambda: assume(mamori, role, idp.token(sub="repo:evil/app:ref:refs/heads/main")))
    assert code == "AccessDenied" and "sts:AssumeRoleWithWebIdentity" in message

    assert error_of(lambda: assume(mamori, role, idp.token(aud="someone-else")))[0] == "IDPRejectedClaim"

    good = idp.token()
    head, body, sig = good.split(".")
    forged = json.loads(base64.urlsafe_b64decode(body + "==="))
    forged["sub"] = "repo:acme/app:ref:refs/heads/prod"
    tampered = f"{head}.{b64(json.dumps(forged).encode())}.{sig}"
    assert error_of(lambda: assume(mamori, role, tampered))[0] == "InvalidIdentityToken"

    assert error_of(lambda: assume(mamori, role, "not-a-jwt"))[0] == "InvalidIdentityToken"
    code, message = error_of(lambda: assume(mamori, role, idp.token(iss="https://unknown.example.com")))
    assert (code, message) == ("InvalidIdentityToken", "No OpenIDConnect provider found in your account for https://unknown.example.com")

    token = idp.token()
    mamori_clock.advance(3600)  # the token expired meanwhile
    assert error_of(lambda: assume(mamori, role, token))[0] == "ExpiredTokenException"
