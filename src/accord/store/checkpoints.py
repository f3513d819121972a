"""Checkpoints: C2SP tlog-checkpoint bodies in C2SP signed notes, signed with Ed25519.

Formats (https://c2sp.org/tlog-checkpoint, https://c2sp.org/signed-note):

    <origin>\\n<tree size>\\n<base64 root hash>\\n
    \\n
    \\u2014 <key name> <base64(key hash[4] || Ed25519 signature[64])>\\n

Key hash = SHA-256(name || 0x0A || 0x01 || public key)[:4]. Keys are files in the
golang.org/x/mod/sumdb/note text form, so Go's `note` package reads them as they are.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from accord import verifier as _verifier
from accord.verifier import ALG_ED25519, EM_DASH, VerifyError

# Reading and checking notes is the standalone verifier's job: one implementation, which
# the store uses too, so what Accord accepts is exactly what a third party's copy accepts.
NoteError = VerifyError
key_hash = _verifier.key_hash
parse_checkpoint = _verifier.parse_checkpoint
Verifier = _verifier.NoteKey


@dataclass(frozen=True)
class Signer:
    name: str
    private: Ed25519PrivateKey

    @property
    def public(self) -> bytes:
        return self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def verifier_key(self) -> str:
        """The public key line a third party needs: <name>+<hash hex>+<base64(0x01||key)>."""
        h = key_hash(self.name, self.public).hex()
        return f"{self.name}+{h}+{base64.b64encode(ALG_ED25519 + self.public).decode()}"

    def private_text(self) -> str:
        seed = self.private.private_bytes_raw()
        h = key_hash(self.name, self.public).hex()
        return f"PRIVATE+KEY+{self.name}+{h}+{base64.b64encode(ALG_ED25519 + seed).decode()}"

    def sign(self, text: str) -> str:
        if not text.endswith("\n"):
            raise NoteError("note text must end with a newline")
        sig = self.private.sign(text.encode())
        blob = base64.b64encode(key_hash(self.name, self.public) + sig).decode()
        return f"{text}\n{EM_DASH} {self.name} {blob}\n"


def checkpoint_text(origin: str, size: int, root: bytes) -> str:
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


# --- key files ----------------------------------------------------------------------------


def key_path(key_dir: Path, slug: str) -> Path:
    return key_dir / f"{slug}.key"


def create_key(key_dir: Path, slug: str, origin: str) -> Signer:
    """A new signing key for a tenant's log, written 0600; refuses to overwrite one."""
    key_dir.mkdir(parents=True, exist_ok=True)
    path = key_path(key_dir, slug)
    signer = Signer(origin, Ed25519PrivateKey.generate())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(signer.private_text() + "\n")
    return signer


def load_key(key_dir: Path, slug: str) -> Signer:
    path = key_path(key_dir, slug)
    try:
        text = path.read_text().strip()
    except FileNotFoundError as exc:
        raise NoteError(
            f"no signing key at {path}: run 'accord init' or restore the key file"
        ) from exc
    parts = text.split("+", 4)
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
        raise NoteError(f"{path} is not a note private key")
    name, raw = parts[2], base64.b64decode(parts[4])
    if raw[:1] != ALG_ED25519 or len(raw) != 33:
        raise NoteError(f"{path} is not an Ed25519 key")
    signer = Signer(name, Ed25519PrivateKey.from_private_bytes(raw[1:]))
    if key_hash(name, signer.public).hex() != parts[3]:
        raise NoteError(f"{path}: key hash does not match")
    return signer
