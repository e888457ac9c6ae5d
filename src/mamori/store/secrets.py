"""Secrets at rest: AES-256-GCM under the data directory's root key.

The root key is 32 random bytes in `<data-dir>/root.key`, created once with mode 0600
(O_CREAT|O_EXCL, so two processes can't both create it) and reused after. In ephemeral
mode the key lives in memory only. Sealed blobs are `nonce(12) || ciphertext || tag`;
the associated data binds a blob to what it protects (e.g. the ARN or access key id),
so a blob copied to another row does not open.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_FILE = "root.key"


class SecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("root key must be 32 bytes")
        self._aead = AESGCM(key)

    @classmethod
    def open(cls, data_dir: Path | None) -> "SecretBox":
        if data_dir is None:
            return cls(os.urandom(32))
        path = Path(data_dir) / KEY_FILE
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            key = path.read_bytes()
        else:
            key = os.urandom(32)
            try:
                os.write(fd, key)
                os.fsync(fd)
            finally:
                os.close(fd)
        return cls(key)

    def seal(self, plaintext: bytes, aad: bytes = b"") -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, plaintext, aad or None)

    def open_sealed(self, blob: bytes, aad: bytes = b"") -> bytes:
        return self._aead.decrypt(blob[:12], blob[12:], aad or None)
