"""Blob store benchmark: a corpus of documents and their successive versions, stored and
read back, against what `git gc --aggressive` makes of the same versions.

A corpus is a directory; every sub-folder of it that holds files is one document, and its
files, sorted by name, are that document's successive versions. `build_corpus` writes one
from a git repository's history (each tracked file's versions, oldest first, renames
followed), e.g. GitHub's published site policies.
"""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accord.bench import Progress, fresh_database
from accord.errors import Invalid
from accord.store import blobs
from accord.store.tenancy import create_tenant

# --- building a corpus from git history ----------------------------------------------------


def _git(git_dir: Path, *args: str, input: bytes | None = None) -> bytes:
    done = subprocess.run(
        ["git", f"--git-dir={git_dir}", "-c", "core.quotePath=false", *args],
        input=input,
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip()
        raise Invalid.one("--from-git", f"git {args[0]}: {message}")
    return done.stdout


def git_dir_of(repo: Path) -> Path:
    """The git directory of `repo`: a bare repository, or a work tree with a .git inside."""
    if (repo / ".git").exists():
        return repo / ".git"
    if (repo / "HEAD").is_file() and (repo / "objects").is_dir():
        return repo
    raise Invalid.one("--from-git", f"{repo} is not a git repository")


def _slug(path: str) -> str:
    """`github-terms/github-terms-of-service.md` -> `github-terms--github-terms-of-service`."""
    stem = path.rsplit(".", 1)[0] if "." in path.rsplit("/", 1)[-1] else path
    parts = [re.sub(r"[^a-z0-9]+", "-", part.lower()).strip("-") for part in stem.split("/")]
    return "--".join(p for p in parts if p) or "document"


def _history(git_dir: Path, path: str) -> list[tuple[str, str]]:
    """(commit, path at that commit) for every commit that changed the file, oldest first,
    following renames. Commits that deleted it (it came back later) are left out."""
    out = _git(git_dir, "log", "--follow", "--format=%x00%H", "--name-status", "--", path)
    versions: list[tuple[str, str]] = []
    for record in out.decode().split("\x00")[1:]:
        lines = [line for line in record.splitlines() if line.strip()]
        if len(lines) < 2:  # a merge commit: no changes of its own listed
            continue
        fields = lines[1].split("\t")
        if fields[0].startswith("D"):
            continue
        versions.append((lines[0], fields[-1]))
    versions.reverse()
    return versions


def _read_blobs(git_dir: Path, specs: list[str]) -> list[bytes]:
    """The contents of `commit:path` specs, through one `git cat-file --batch`."""
    out = _git(git_dir, "cat-file", "--batch", input="".join(f"{s}\n" for s in specs).encode())
    contents: list[bytes] = []
    pos = 0
    for spec in specs:
        end = out.index(b"\n", pos)
        header = out[pos:end].decode()
        if header.endswith("missing"):
            raise Invalid.one("--from-git", f"git cat-file: {spec} is missing")
        size = int(header.rsplit(" ", 1)[1])
        contents.append(out[end + 1 : end + 1 + size])
        pos = end + 1 + size + 1
    return contents


def build_corpus(
    repo: Path, out: Path, path_prefix: str = "", progress: Progress | None = None
) -> dict[str, Any]:
    """Write every file tracked at HEAD under `path_prefix`, one version per commit that
    changed it (oldest first), as `out/<slug>/<0001>.<ext>`, ... Versions byte-identical to
    the one before are kept (storing them once is the store's job) and counted."""
    git_dir = git_dir_of(repo)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise Invalid.one("--out", f"{out} exists and is not empty")
    tracked = [
        p
        for p in _git(git_dir, "ls-tree", "-r", "--name-only", "-z", "HEAD").decode().split("\0")
        if p and p.startswith(path_prefix)
    ]
    if not tracked:
        raise Invalid.one("--path-prefix", f"no file tracked at HEAD starts with {path_prefix!r}")
    out.mkdir(parents=True, exist_ok=True)
    documents = versions = raw = repeats = 0
    for i, path in enumerate(sorted(tracked), 1):
        history = _history(git_dir, path)
        contents = _read_blobs(git_dir, [f"{c}:{p}" for c, p in history])
        if not contents:
            continue
        ext = path.rsplit(".", 1)[1] if "." in path.rsplit("/", 1)[-1] else "txt"
        slug = _slug(path[len(path_prefix) :])
        folder, twin = out / slug, 1
        while folder.exists():  # two paths that differ only in what a slug leaves out
            twin += 1
            folder = out / f"{slug}-{twin}"
        folder.mkdir()
        documents += 1
        previous: bytes | None = None
        for n, data in enumerate(contents, 1):
            (folder / f"{n:04d}.{ext}").write_bytes(data)
            repeats += data == previous
            previous = data
        versions += len(contents)
        raw += sum(len(c) for c in contents)
        if progress:
            progress("reading git history", i, len(tracked))
    return {
        "documents": documents,
        "versions": versions,
        "raw_bytes": raw,
        "repeated_versions": repeats,
    }


# --- the benchmark -------------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    name: str
    versions: list[Path]


def read_corpus(corpus: Path) -> list[Document]:
    """Every folder under `corpus` that holds files, as a document whose versions are its
    files sorted by name (hidden files left out)."""
    if not corpus.is_dir():
        raise Invalid.one("--corpus", f"{corpus} is not a directory")
    documents = []
    for folder in sorted(p for p in corpus.rglob("*") if p.is_dir()):
        files = sorted(
            (f for f in folder.iterdir() if f.is_file() and not f.name.startswith(".")),
            key=lambda f: f.name,
        )
        if files:
            documents.append(Document(folder.relative_to(corpus).as_posix(), files))
    if not documents:
        raise Invalid.one("--corpus", f"no folder under {corpus} holds files")
    return documents


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]


def bench_storage(
    database_url: str,
    corpus: Path,
    progress: Progress | None = None,
    *,
    git: bool = False,
) -> dict[str, Any]:
    """Store every version of every document of the corpus (each with the previous version
    of its document as its base, and the corpus as its family), one transaction per
    version, then read every version back and compare. With `git`, commit the same versions
    in the same order (document by document, one commit per version) into a new git
    repository and measure what `git gc --aggressive` packs them into."""
    documents = read_corpus(corpus)
    total = sum(len(d.versions) for d in documents)
    family = f"corpus:{corpus.resolve().name}"[:200]
    raw = 0
    digests: list[tuple[Path, str]] = []
    with fresh_database(database_url) as db:
        with db.unit_of_work() as s:
            tenant_id = create_tenant(s, slug="bench", name="Storage benchmark").id
        started = time.perf_counter()
        done = 0
        for doc in documents:
            previous: str | None = None
            for path in doc.versions:
                data = path.read_bytes()
                raw += len(data)
                with db.unit_of_work() as s:
                    previous = blobs.put(s, tenant_id, data, base=previous, family=family)
                digests.append((path, previous))
                done += 1
                if progress:
                    progress("storing versions", done, total)
        ingest_s = time.perf_counter() - started
        with db.reading() as s:
            stored = blobs.storage_bytes(s)
            use = blobs.usage(s, tenant_id)
        times: list[float] = []
        identical = True
        for i, (path, digest) in enumerate(digests, 1):
            expected = path.read_bytes()
            with db.reading() as s:
                t0 = time.perf_counter()
                got = blobs.get(s, tenant_id, digest)
                times.append((time.perf_counter() - t0) * 1000)
            identical = identical and got == expected
            if progress:
                progress("reading back", i, total)
    result: dict[str, Any] = {
        "documents": len(documents),
        "versions": total,
        "blobs": use.blobs,
        "raw_bytes": raw,
        "stored_bytes": stored,
        "frame_bytes": use.frame_bytes,
        "ratio": round(raw / stored, 2) if stored else None,
        "ingest_s": round(ingest_s, 3),
        "read_p50_ms": round(statistics.median(times), 3),
        "read_p99_ms": round(_percentile(times, 0.99), 3),
        "read_max_ms": round(max(times), 3),
        "identical": identical,
    }
    if git:
        git_bytes = git_pack_bytes(documents, progress)
        result["git_bytes"] = git_bytes
        result["git_ratio"] = round(raw / git_bytes, 2)
    return result


def git_pack_bytes(documents: list[Document], progress: Progress | None = None) -> int:
    """Bytes of the pack (and its index) that `git gc --aggressive` makes of the versions,
    committed in order (document by document, one commit per version, each document one
    file) into a new repository."""
    if shutil.which("git") is None:
        raise Invalid.one("--git", "git is not installed")
    total = sum(len(d.versions) for d in documents)
    with tempfile.TemporaryDirectory(prefix="accord-bench-git-") as tmp:
        repo = Path(tmp)
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        # fast-import writes the commits as `git commit` would, without a process each
        importer = subprocess.Popen(
            ["git", "-C", str(repo), "fast-import", "--quiet"], stdin=subprocess.PIPE
        )
        assert importer.stdin is not None
        write = importer.stdin.write
        done = 0
        for doc in documents:
            name = doc.name.replace("/", "--")
            for path in doc.versions:
                data = path.read_bytes()
                message = f"{doc.name} {path.name}\n".encode()
                ext = path.suffix
                write(b"commit refs/heads/main\n")
                write(b"committer Bench <bench@example.org> %d +0000\n" % (1_600_000_000 + done))
                write(b"data %d\n%s" % (len(message), message))
                write(b"M 100644 inline %s%s\n" % (name.encode(), ext.encode()))
                write(b"data %d\n%s\n" % (len(data), data))
                done += 1
                if progress:
                    progress("committing to git", done, total)
        importer.stdin.close()
        if importer.wait() != 0:
            raise Invalid.one("--git", "git fast-import failed")
        if progress:
            progress("git gc --aggressive", 0, 1)
        subprocess.run(
            ["git", "-C", str(repo), "gc", "--aggressive", "--prune=now", "-q"], check=True
        )
        if progress:
            progress("git gc --aggressive", 1, 1)
        pack = repo / ".git" / "objects" / "pack"
        return sum(p.stat().st_size for p in pack.iterdir() if p.suffix in (".pack", ".idx"))
