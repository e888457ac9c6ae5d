"""KMS cryptography on the `cryptography` library (imported lazily).

    new_material(spec)            fresh key material for a key spec (bytes; private keys as PKCS#8 DER)
    seal / open_blob              symmetric ciphertext blobs: header (magic, key id, material id)
                                  + AES-256-GCM under the material, header and canonical
                                  encryption context as AAD
    blob_key_id                   the key id a blob names (Decrypt needs no KeyId)
    rsa_encrypt / rsa_decrypt     RSAES-OAEP SHA-1 / SHA-256
    sign / verify                 RSASSA-PSS, RSASSA-PKCS1-v1_5, ECDSA (DER), RAW or DIGEST;
                                  Ed25519 and ML-DSA (pure, RAW messages)
    mac                           HMAC-SHA-224..512
    derive_shared_secret          ECDH with a peer's SubjectPublicKeyInfo
    public_der                    SubjectPublicKeyInfo DER of a private key
    data_key_pair                 (public DER, private PKCS#8 DER) of a KeyPairSpec
    unwrap                        imported key material: RSAES-OAEP or RSA-AES key wrap (RFC 5649)

The blob format is private (AWS does not publish its own):
    b"MK1" | len(key_id):1 | key_id | material_id:32 | nonce:12 | ciphertext+tag
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any

MAGIC = b"MK1"
HMAC_SIZES = {"HMAC_224": 28, "HMAC_256": 32, "HMAC_384": 48, "HMAC_512": 64}
RSA_BITS = {"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}
CURVES = {"ECC_NIST_P256": "SECP256R1", "ECC_NIST_P384": "SECP384R1", "ECC_NIST_P521": "SECP521R1",
          "ECC_SECG_P256K1": "SECP256K1"}
DIGESTS = {"256": "SHA256", "384": "SHA384", "512": "SHA512", "1": "SHA1", "224": "SHA224"}
DIGEST_SIZE = {"SHA1": 20, "SHA224": 28, "SHA256": 32, "SHA384": 48, "SHA512": 64}


class CryptoError(Exception):
    """Authentication or format failure; the provider turns it into the AWS error."""


def new_material(spec: str) -> bytes:
    if spec == "SYMMETRIC_DEFAULT":
        return os.urandom(32)
    if spec in HMAC_SIZES:
        return os.urandom(HMAC_SIZES[spec])
    return _private_der(_generate(spec))


def _generate(spec: str) -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if spec in RSA_BITS:
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS[spec])
    if spec in CURVES:
        return ec.generate_private_key(getattr(ec, CURVES[spec])())
    if spec == "ECC_NIST_EDWARDS25519":
        return ed25519.Ed25519PrivateKey.generate()
    if spec.startswith("ML_DSA_"):
        from cryptography.hazmat.primitives.asymmetric import mldsa

        return getattr(mldsa, f"MLDSA{spec.rsplit('_', 1)[1]}PrivateKey").generate()
    raise CryptoError(f"unsupported key spec {spec}")


def _private_der(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization as s

    return key.private_bytes(s.Encoding.DER, s.PrivateFormat.PKCS8, s.NoEncryption())


def load_private(der: bytes) -> Any:
    from cryptography.hazmat.primitives import serialization as s

    return s.load_der_private_key(der, password=None)


def public_der(private_der: bytes) -> bytes:
    from cryptography.hazmat.primitives import serialization as s

    return load_private(private_der).public_key().public_bytes(
        s.Encoding.DER, s.PublicFormat.SubjectPublicKeyInfo)


def data_key_pair(spec: str) -> tuple[bytes, bytes]:
    private = new_material(spec)
    return public_der(private), private


# -- symmetric blobs ----------------------------------------------------------------------

def _aad(header: bytes, context: dict[str, str] | None) -> bytes:
    return header + json.dumps(context or {}, sort_keys=True, separators=(",", ":")).encode()


def seal(key_id: str, material_id: str, material: bytes, plaintext: bytes, context: dict[str, str] | None) -> bytes:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    kid = key_id.encode()
    header = MAGIC + struct.pack("B", len(kid)) + kid + bytes.fromhex(material_id)
    nonce = os.urandom(12)
    return header + nonce + AESGCM(material).encrypt(nonce, plaintext, _aad(header, context))


def parse_blob(blob: bytes) -> tuple[str, str, bytes, bytes, bytes]:
    """(key id, material id, header, nonce, ciphertext) or CryptoError."""
    if len(blob) < 4 or blob[:3] != MAGIC:
        raise CryptoError("not a KMS ciphertext")
    n = blob[3]
    end = 4 + n + 32
    if len(blob) < end + 12 + 16:
        raise CryptoError("truncated")
    try:
        key_id = blob[4:4 + n].decode()
    except UnicodeDecodeError as exc:
        raise CryptoError("bad key id") from exc
    return key_id, blob[4 + n:end].hex(), blob[:end], blob[end:end + 12], blob[end + 12:]


def blob_key_id(blob: bytes) -> str:
    return parse_blob(blob)[0]


def open_blob(blob: bytes, material: bytes, context: dict[str, str] | None) -> bytes:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    _, _, header, nonce, body = parse_blob(blob)
    try:
        return AESGCM(material).decrypt(nonce, body, _aad(header, context))
    except InvalidTag as exc:
        raise CryptoError("authentication failed") from exc


# -- RSA encryption -------------------------------------------------------------------------

def _oaep(algorithm: str) -> Any:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    h = hashes.SHA1() if algorithm.endswith("SHA_1") else hashes.SHA256()
    return padding.OAEP(mgf=padding.MGF1(algorithm=h), algorithm=h, label=None)


def rsa_max_plaintext(spec: str, algorithm: str) -> int:
    hlen = 20 if algorithm.endswith("SHA_1") else 32
    return RSA_BITS[spec] // 8 - 2 * hlen - 2


def rsa_encrypt(private_der: bytes, algorithm: str, plaintext: bytes) -> bytes:
    return load_private(private_der).public_key().encrypt(plaintext, _oaep(algorithm))


def rsa_encrypt_public(public: Any, algorithm: str, plaintext: bytes) -> bytes:
    return public.encrypt(plaintext, _oaep(algorithm))


def rsa_decrypt(private_der: bytes, algorithm: str, ciphertext: bytes) -> bytes:
    try:
        return load_private(private_der).decrypt(ciphertext, _oaep(algorithm))
    except ValueError as exc:
        raise CryptoError("decryption failed") from exc


# -- signatures -------------------------------------------------------------------------------

def _hash_of(algorithm: str) -> Any:
    from cryptography.hazmat.primitives import hashes

    return getattr(hashes, DIGESTS[algorithm.rsplit("_", 1)[1]])()


def digest_size(algorithm: str) -> int:
    return DIGEST_SIZE[DIGESTS[algorithm.rsplit("_", 1)[1]]]


def _sig_args(algorithm: str, message_type: str) -> tuple[Any, Any]:
    from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

    h = _hash_of(algorithm)
    chosen = utils.Prehashed(h) if message_type == "DIGEST" else h
    if algorithm.startswith("RSASSA_PSS"):
        return padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size), chosen
    if algorithm.startswith("RSASSA_PKCS1"):
        return padding.PKCS1v15(), chosen
    return ec.ECDSA(chosen), None


PURE = {"ED25519_SHA_512", "ML_DSA_SHAKE_256"}  # the key signs the message itself (RAW only here)


def sign(private_der: bytes, algorithm: str, message: bytes, message_type: str) -> bytes:
    key = load_private(private_der)
    if algorithm in PURE:
        return key.sign(message)
    pad, h = _sig_args(algorithm, message_type)
    if h is None:
        return key.sign(message, pad)
    return key.sign(message, pad, h)


def verify(private_der: bytes, algorithm: str, message: bytes, message_type: str, signature: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature

    key = load_private(private_der).public_key()
    if algorithm in PURE:
        try:
            key.verify(signature, message)
            return True
        except (InvalidSignature, ValueError):
            return False
    pad, h = _sig_args(algorithm, message_type)
    try:
        if h is None:
            key.verify(signature, message, pad)
        else:
            key.verify(signature, message, pad, h)
        return True
    except (InvalidSignature, ValueError):
        return False


# -- MAC, ECDH --------------------------------------------------------------------------------

def mac(material: bytes, algorithm: str, message: bytes) -> bytes:
    import hashlib
    import hmac

    return hmac.new(material, message, getattr(hashlib, "sha" + algorithm.rsplit("_", 1)[1])).digest()


def derive_shared_secret(private_der: bytes, peer_public_der: bytes) -> bytes:
    from cryptography.hazmat.primitives import serialization as s
    from cryptography.hazmat.primitives.asymmetric import ec

    key = load_private(private_der)
    try:
        peer = s.load_der_public_key(peer_public_der)
    except ValueError as exc:
        raise CryptoError("bad public key") from exc
    if not isinstance(peer, ec.EllipticCurvePublicKey) or peer.curve.name != key.curve.name:
        raise CryptoError("curve mismatch")
    return key.exchange(ec.ECDH(), peer)


# -- import wrapping ---------------------------------------------------------------------------

def unwrap(private_der: bytes, algorithm: str, wrapped: bytes) -> bytes:
    """Undo the wrapping of imported key material: RSAES-OAEP, or RSA-AES key wrap
    (OAEP-wrapped ephemeral AES key followed by AES key wrap with padding, RFC 5649)."""
    from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap_with_padding

    key = load_private(private_der)
    oaep = _oaep("SHA_1" if algorithm.endswith("SHA_1") else "SHA_256")
    try:
        if algorithm.startswith("RSAES_OAEP"):
            return key.decrypt(wrapped, oaep)
        if algorithm.startswith("RSA_AES_KEY_WRAP"):
            n = key.key_size // 8
            aes = key.decrypt(wrapped[:n], oaep)
            return aes_key_unwrap_with_padding(aes, wrapped[n:])
    except (ValueError, InvalidUnwrap) as exc:
        raise CryptoError("unwrap failed") from exc
    raise CryptoError("unsupported wrapping algorithm")
