"""OpenID Connect ID tokens for AssumeRoleWithWebIdentity: find the IAM OIDC provider
of the token's issuer, fetch the issuer's signing keys, verify the signature and the
claims.

As AWS does (id_roles_providers_oidc.html, API_AssumeRoleWithWebIdentity.html): the
keys come from the issuer's discovery document (`{issuer}/.well-known/openid-configuration`
-> `jwks_uri`); the audience (`aud`, or `azp` when present) must be one of the
provider's client ids; `exp` must be in the future (the mamori clock decides, so tests
can expire a token by advancing it).

Local departure: issuers on 127.0.0.1 / localhost are fetched over plain http, so a
test can run its own identity provider without a certificate AWS would trust. Every
other issuer is fetched over https. Keys are cached per issuer for five minutes of
real time (a test that rotates its keys gets a fresh fetch when a `kid` is unknown).

Signature algorithms: RS256/384/512, PS256/384/512, ES256/384/512. `none` and HMAC
algorithms are refused, as AWS refuses them.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.request
from typing import Any

from mamori.errors import AwsError

_CACHE_SECONDS = 300
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def invalid_token(message: str) -> AwsError:
    return AwsError(message, code="InvalidIdentityToken", status=400)


def parse(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """(header, claims, signing input, signature) of a compact JWS, unverified."""
    parts = token.split(".")
    if len(parts) != 3:
        raise invalid_token("The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)")
    try:
        header = json.loads(_b64(parts[0]))
        claims = json.loads(_b64(parts[1]))
        signature = _b64(parts[2])
    except ValueError:
        raise invalid_token("The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise invalid_token("The ID Token provided is not a valid JWT.")
    return header, claims, f"{parts[0]}.{parts[1]}".encode(), signature


def issuer_url(issuer: str) -> str:
    """The URL to fetch discovery from: https, or http for a local issuer."""
    bare = issuer.removeprefix("https://").removeprefix("http://").rstrip("/")
    host = bare.split("/", 1)[0].rsplit(":", 1)[0] if not bare.startswith("[") else bare.split("]")[0] + "]"
    scheme = "http" if host in _LOCAL_HOSTS else "https"
    return f"{scheme}://{bare}"


class KeyCache:
    """Signing keys per issuer, fetched on demand (blocking: call from a worker thread)."""

    def __init__(self) -> None:
        self._keys: dict[str, tuple[float, list[dict[str, Any]]]] = {}

    def keys(self, issuer: str, kid: str | None) -> list[dict[str, Any]]:
        cached = self._keys.get(issuer)
        if cached is not None and time.monotonic() - cached[0] < _CACHE_SECONDS:
            if kid is None or any(k.get("kid") == kid for k in cached[1]):
                return cached[1]
        keys = _fetch_keys(issuer)
        self._keys[issuer] = (time.monotonic(), keys)
        return keys


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - http(s) only, built above
        return json.loads(response.read(1_000_000))


def _fetch_keys(issuer: str) -> list[dict[str, Any]]:
    base = issuer_url(issuer)
    try:
        discovery = _get_json(f"{base}/.well-known/openid-configuration")
        jwks_uri = discovery.get("jwks_uri") if isinstance(discovery, dict) else None
        if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
            raise ValueError("no jwks_uri")
        jwks = _get_json(jwks_uri)
        keys = jwks.get("keys") if isinstance(jwks, dict) else None
        if not isinstance(keys, list):
            raise ValueError("no keys")
        return [k for k in keys if isinstance(k, dict)]
    except Exception:  # noqa: BLE001 - unreachable, not JSON, wrong shape: all the same to the caller
        raise AwsError("Couldn't retrieve verification key from your identity provider,  please reference "
                       "AssumeRoleWithWebIdentity documentation for requirements",
                       code="IDPCommunicationError", status=400) from None


def verify(header: dict[str, Any], signing_input: bytes, signature: bytes, keys: list[dict[str, Any]]) -> None:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

    alg = header.get("alg")
    if not isinstance(alg, str) or alg[:2] not in ("RS", "PS", "ES") or alg[2:] not in ("256", "384", "512"):
        raise invalid_token(f"Unsupported signing algorithm {alg}.")
    digest = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}[alg[2:]]()
    kid = header.get("kid")
    candidates = [k for k in keys if kid is None or k.get("kid") == kid]
    for jwk in candidates:
        try:
            if alg[:2] in ("RS", "PS") and jwk.get("kty") == "RSA":
                public = rsa.RSAPublicNumbers(int.from_bytes(_b64(jwk["e"]), "big"),
                                              int.from_bytes(_b64(jwk["n"]), "big")).public_key()
                pad = padding.PKCS1v15() if alg[:2] == "RS" else padding.PSS(padding.MGF1(digest), digest.digest_size)
                public.verify(signature, signing_input, pad, digest)
                return
            if alg[:2] == "ES" and jwk.get("kty") == "EC":
                curve = {"P-256": ec.SECP256R1, "P-384": ec.SECP384R1, "P-521": ec.SECP521R1}[jwk["crv"]]()
                public = ec.EllipticCurvePublicNumbers(int.from_bytes(_b64(jwk["x"]), "big"),
                                                       int.from_bytes(_b64(jwk["y"]), "big"), curve).public_key()
                half = len(signature) // 2
                der = utils.encode_dss_signature(int.from_bytes(signature[:half], "big"),
                                                 int.from_bytes(signature[half:], "big"))
                public.verify(der, signing_input, ec.ECDSA(digest))
                return
        except (InvalidSignature, KeyError, ValueError, TypeError):
            continue
    raise invalid_token("The web identity token that was passed could not be validated by AWS. Get a new identity "
                        "token from the identity provider and then retry the request.")


def audiences(claims: dict[str, Any]) -> list[str]:
    aud = claims.get("aud")
    return [aud] if isinstance(aud, str) else [a for a in aud or [] if isinstance(a, str)]
