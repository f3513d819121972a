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
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ALG_ED25519 = b"\x01"
EM_DASH = "\u2014"


class NoteError(ValueError):
    """A checkpoint that does not parse or whose signature does not verify."""


def key_hash(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ALG_ED25519 + public).digest()[:4]


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


@dataclass(frozen=True)
class Verifier:
    name: str
    public: bytes

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        try:
            name, hex_hash, b64 = vkey.strip().split("+", 2)
            raw = base64.b64decode(b64, validate=True)
        except ValueError as exc:
            raise NoteError(f"not a verifier key: {exc}") from exc
        if raw[:1] != ALG_ED25519 or len(raw) != 33:
            raise NoteError("verifier key is not an Ed25519 key")
        if key_hash(name, raw[1:]).hex() != hex_hash:
            raise NoteError("verifier key hash does not match its name and key")
        return cls(name, raw[1:])

    def open(self, note: str) -> str:
        """The note's text if one of its signatures is this key's and valid."""
        text, sep, sigs = note.rpartition("\n\n")
        if not sep:
            raise NoteError("no signature block")
        text += "\n"
        want = key_hash(self.name, self.public)
        for line in sigs.splitlines():
            parts = line.split(" ")
            if len(parts) != 3 or parts[0] != EM_DASH or parts[1] != self.name:
                continue
            try:
                blob = base64.b64decode(parts[2], validate=True)
            except ValueError as exc:
                raise NoteError("signature is not base64") from exc
            if blob[:4] != want or len(blob) != 68:
                continue
            try:
                Ed25519PublicKey.from_public_bytes(self.public).verify(blob[4:], text.encode())
            except InvalidSignature as exc:
                raise NoteError("checkpoint signature does not verify") from exc
            return text
        raise NoteError(f"no signature by {self.name}")


def checkpoint_text(origin: str, size: int, root: bytes) -> str:
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


def parse_checkpoint(text: str) -> tuple[str, int, bytes]:
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise NoteError("checkpoint must have origin, size and root lines")
    origin, size_s, root_b64 = lines[0], lines[1], lines[2]
    if not size_s.isdigit() or (size_s != "0" and size_s.startswith("0")):
        raise NoteError("checkpoint size is not a decimal number")
    try:
        root = base64.b64decode(root_b64, validate=True)
    except ValueError as exc:
        raise NoteError("checkpoint root is not base64") from exc
    if len(root) != 32:
        raise NoteError("checkpoint root is not 32 bytes")
    return origin, int(size_s), root


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
        raise NoteError(f"no signing key at {path}: run 'accord init' or restore the key file") from exc
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
