"""Bad input gets AWS's error code, never a 500: garbage ciphertexts, signatures, public
keys, digests of the wrong length, keys of the wrong usage."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError


@pytest.fixture(scope="module")
def keys(mamori):
    kms = mamori.client("kms")
    return {
        "sym": kms.create_key()["KeyMetadata"]["KeyId"],
        "rsa": kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"],
        "ec": kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"],
        "ecdh": kms.create_key(KeySpec="ECC_NIST_P384", KeyUsage="KEY_AGREEMENT")["KeyMetadata"]["KeyId"],
        "hmac": kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"],
    }


CASES = [
    ("decrypt", {"CiphertextBlob": b"garbage"}, "InvalidCiphertextException"),
    ("decrypt", {"CiphertextBlob": b"MK1" + bytes([200]) + b"x" * 300}, "InvalidCiphertextException"),
    ("decrypt", {"KeyId": "{rsa}", "CiphertextBlob": b"x" * 256, "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"},
     "InvalidCiphertextException"),
    ("encrypt", {"KeyId": "{rsa}", "Plaintext": b"x" * 200, "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"},
     "ValidationException"),
    ("encrypt", {"KeyId": "{ec}", "Plaintext": b"x"}, "InvalidKeyUsageException"),
    ("encrypt", {"KeyId": "{sym}", "Plaintext": b"x", "EncryptionAlgorithm": "RSAES_OAEP_SHA_1"},
     "InvalidKeyUsageException"),
    ("sign", {"KeyId": "{ec}", "Message": b"short", "MessageType": "DIGEST", "SigningAlgorithm": "ECDSA_SHA_256"},
     "ValidationException"),
    ("sign", {"KeyId": "{ec}", "Message": b"m", "SigningAlgorithm": "RSASSA_PSS_SHA_256"}, "InvalidKeyUsageException"),
    ("sign", {"KeyId": "{sym}", "Message": b"m", "SigningAlgorithm": "ECDSA_SHA_256"}, "InvalidKeyUsageException"),
    ("verify", {"KeyId": "{ec}", "Message": b"m", "Signature": b"not a signature", "SigningAlgorithm": "ECDSA_SHA_256"},
     "KMSInvalidSignatureException"),
    ("derive_shared_secret", {"KeyId": "{ecdh}", "KeyAgreementAlgorithm": "ECDH", "PublicKey": b"junk"},
     "ValidationException"),
    ("generate_mac", {"KeyId": "{hmac}", "Message": b"m", "MacAlgorithm": "HMAC_SHA_512"}, "InvalidKeyUsageException"),
    ("generate_data_key", {"KeyId": "{sym}"}, "ValidationException"),
    ("generate_data_key", {"KeyId": "{sym}", "KeySpec": "AES_256", "NumberOfBytes": 32}, "ValidationException"),
    ("generate_data_key", {"KeyId": "{rsa}", "KeySpec": "AES_256"}, "InvalidKeyUsageException"),
    ("get_public_key", {"KeyId": "{sym}"}, "UnsupportedOperationException"),
    ("describe_key", {"KeyId": "alias/does-not-exist"}, "NotFoundException"),
    ("describe_key", {"KeyId": "arn:aws:kms:us-east-1:000000000000:nonsense"}, "InvalidArnException"),
    ("describe_key", {"KeyId": "00000000-0000-0000-0000-000000000000"}, "NotFoundException"),
    ("schedule_key_deletion", {"KeyId": "{sym}", "PendingWindowInDays": 31}, "ValidationException"),
    ("import_key_material", {"KeyId": "{sym}", "ImportToken": b"t", "EncryptedKeyMaterial": b"m",
                             "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"}, "UnsupportedOperationException"),
    ("put_key_policy", {"KeyId": "{sym}", "PolicyName": "default", "Policy": "{not json"},
     "MalformedPolicyDocumentException"),
]


@pytest.mark.parametrize("op,args,expected", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_bad_input(mamori, keys, op, args, expected):
    kms = mamori.client("kms")
    args = {k: (v.format(**keys) if isinstance(v, str) and "{" in v and k == "KeyId" else v) for k, v in args.items()}
    with pytest.raises(ClientError) as e:
        getattr(kms, op)(**args)
    assert e.value.response["Error"]["Code"] == expected
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize("operation,params", [("decrypt", {}), ("re_encrypt", {"DestinationKeyId": "alias/x"})])
def test_missing_ciphertext_is_a_validation_error(mamori, operation, params):
    """The current model no longer marks CiphertextBlob required; KMS still needs it."""
    from botocore.config import Config

    kms = mamori.client("kms", config=Config(parameter_validation=False, retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as exc:
        getattr(kms, operation)(**params)
    error = exc.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Code"] == "ValidationException"
    assert error["Error"]["Message"] == ("1 validation error detected: Value null at 'ciphertextBlob' failed to "
                                         "satisfy constraint: Member must not be null")
