"""Signed evidence bundles: a good one verifies, every forgery fails naming its first problem."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import struct
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest

from canary.config import load_config
from canary.evidence import signing, verify
from canary.evidence.bundle import write_bundle
from canary.evidence.verify import verify_bundle
from canary.hits.record import Observation, record
from canary.store.engine import Store
from tests.bundle_support import (
    OTHER_SIGNER,
    SIGNER,
    chain_bytes,
    chain_lines,
    edit,
    members,
    resign,
    write_zip,
)
from tests.case_support import RAW_MAIL, mail_hit, make_copy
from tests.cli_support import canary

SHARED = "+50683123456"


def sms_hit(store: Store, to: str) -> int:
    [rec] = record(
        store,
        [
            Observation(
                channel="sms",
                identifier=to,
                sender="+50688887777",
                summary="Hola",
                provider="generic",
                provider_message_id="sms-1",
                evidence=b'{"to": "' + to.encode() + b'", "body": "Hola"}',
                evidence_type="application/json",
            )
        ],
    )
    return rec.hit_id


@pytest.fixture
def case(store: Store, tmp_path: Path) -> tuple[Store, str, str, Path]:
    """Copy A and copy B share a number. Chain: #1 issue A, #2 issue B, #3 mail to A,
    #4 mail to B, #5 mail to A, #6 SMS to the shared number (A and B). A's bundle."""
    a = make_copy(store, "Proveedor Ñandú", ["lucia@canary.example"], [SHARED])
    b = make_copy(store, "Otro", ["otro@canary.example"], [SHARED])
    mail_hit(store, "lucia@canary.example")
    mail_hit(store, "otro@canary.example", mid="x")
    mail_hit(store, "lucia@canary.example", raw=RAW_MAIL + b"\r\nsecond", mid="m2")
    sms_hit(store, SHARED)
    out = tmp_path / "case.zip"
    write_bundle(store, a, out, SIGNER, lang="en")
    return store, a, b, out


def first_problem(path: Path, key: signing.PublicKey = SIGNER.public, **kw) -> str:
    check = verify_bundle(path, key, **kw)
    assert not check.ok and len(check.problems) == 1
    return check.problems[0]


def test_good_bundle_verifies_offline_and_against_the_store(case) -> None:
    store, a, b, out = case
    check = verify_bundle(out, SIGNER.public, copy=a.lower(), store=store)
    assert check.ok, check.problems
    assert (check.copy, check.hits, check.first_seq, check.last_seq) == (a, 3, 1, 6)
    files = members(out)
    manifest = json.loads(files["manifest.json"])
    assert manifest["copy"] == a and manifest["hits"] == 3
    assert manifest["fingerprint"] == hashlib.sha256(SIGNER.public.raw).hexdigest()
    assert set(manifest["files"]) == set(files) - {"manifest.json", "manifest.sig"}
    for name, digest in manifest["files"].items():
        assert hashlib.sha256(files[name]).hexdigest() == digest
    sig = base64.b64decode(files["manifest.sig"])
    assert SIGNER.public.verify(files["manifest.json"], sig)
    assert set(files) == {
        "manifest.json",
        "manifest.sig",
        "chain.json",
        "issuance.json",
        "report.html",
        "report.pdf",
        "hits/001.json",
        "hits/001.eml",
        "hits/002.json",
        "hits/002.eml",
        "hits/003.json",
        "hits/003.raw",
    }
    links = chain_lines(files["chain.json"])
    assert [x["seq"] for x in links] == [1, 2, 3, 4, 5, 6]
    # B's issuance and B's own hit: hashes only, nothing of B shown
    assert set(links[1]) == set(links[3]) == {"seq", "prev_hash", "record_sha256", "hash"}
    assert b not in files["chain.json"].decode() or b in links[5]["record"]["copies"]
    assert sorted(links[5]["record"]["copies"]) == sorted([a, b])  # the shared SMS


def test_the_shared_hit_is_in_the_other_copys_bundle_too(case, tmp_path: Path) -> None:
    store, _, b, _ = case
    out = tmp_path / "b.zip"
    written = write_bundle(store, b, out, SIGNER)
    assert (written.hits, written.first_seq, written.last_seq) == (2, 2, 6)
    assert verify_bundle(out, SIGNER.public, copy=b, store=store).ok
    assert json.loads(members(out)["hits/002.json"])["channel"] == "sms"


def test_bundle_file_is_private_whatever_the_umask(case, tmp_path: Path) -> None:
    store, a, _, _ = case
    old = os.umask(0o022)
    try:
        out = tmp_path / "new" / "c.zip"
        write_bundle(store, a, out, SIGNER)
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [p.name for p in out.parent.iterdir()] == ["c.zip"]  # no temporary left


def test_edited_report_with_recomputed_manifest_fails_the_signature(case, tmp_path) -> None:
    _, _, _, out = case

    def forge(files: dict[str, bytes]) -> dict[str, bytes]:
        files["report.html"] = files["report.html"].replace("Ñandú".encode(), b"Otro")
        return resign(files, None)

    bad = edit(out, tmp_path / "bad.zip", forge)
    assert first_problem(bad).startswith("manifest.sig: the signature does not match")


def _drop_first_hit(files: dict[str, bytes]) -> dict[str, bytes]:
    """Remove hit 001, its raw message and its link (#3); renumber what follows."""
    links = [x for x in chain_lines(files["chain.json"]) if x["seq"] != 3]
    out = {k: v for k, v in files.items() if not k.startswith("hits/")}
    out["chain.json"] = chain_bytes(links)
    for old, new in ((2, 1), (3, 2)):
        doc = json.loads(files[f"hits/{old:03d}.json"])
        suffix = doc["evidence_file"].rsplit(".", 1)[1]
        out[f"hits/{new:03d}.{suffix}"] = files[f"hits/{old:03d}.{suffix}"]
        doc["evidence_file"] = f"hits/{new:03d}.{suffix}"
        out[f"hits/{new:03d}.json"] = json.dumps(doc).encode()
    manifest = json.loads(out["manifest.json"])
    manifest["hits"] = 2
    out["manifest.json"] = json.dumps(manifest).encode()
    return out


def test_hit_removed_with_its_raw_file_and_link(case, tmp_path: Path) -> None:
    _, _, _, out = case
    # without the key: the old signature no longer matches
    unsigned = edit(out, tmp_path / "a.zip", lambda f: resign(_drop_first_hit(f), None))
    assert first_problem(unsigned).startswith("manifest.sig: the signature does not match")
    # re-signed with the forger's key: checked with ours, the wrong key
    forged = edit(out, tmp_path / "b.zip", lambda f: resign(_drop_first_hit(f), OTHER_SIGNER))
    assert first_problem(forged) == (
        f"manifest.sig: signed by another key: the manifest names key "
        f"{OTHER_SIGNER.public.fingerprint}, checked with key {SIGNER.public.fingerprint}"
    )
    # even trusting the forger's key, the chain proof has a hole where the link was
    assert first_problem(forged, OTHER_SIGNER.public) == (
        "chain.json: link #4: does not follow link #2 (a link was removed or changed between them)"
    )


def test_hand_written_manifest_beside_a_report(tmp_path: Path) -> None:
    html = b"<html>Copy C1 leaked</html>"
    manifest = {"copy": "C1", "files": {"report.html": hashlib.sha256(html).hexdigest()}}
    bad = write_zip(
        tmp_path / "bad.zip", {"report.html": html, "manifest.json": json.dumps(manifest).encode()}
    )
    assert first_problem(bad) == "manifest.sig is missing: not signed"
    # signed by someone, with a key the verifier was told to trust: still not a bundle
    mbytes = json.dumps(manifest).encode()
    signed = write_zip(
        tmp_path / "signed.zip",
        {
            "report.html": html,
            "manifest.json": mbytes,
            "manifest.sig": base64.b64encode(OTHER_SIGNER.sign(mbytes)),
        },
    )
    assert first_problem(signed, OTHER_SIGNER.public).startswith("manifest.json: names key None")


def test_file_added(case, tmp_path: Path) -> None:
    _, _, _, out = case
    bad = edit(out, tmp_path / "bad.zip", lambda f: {**f, "notes.txt": b"x"})
    assert first_problem(bad) == "notes.txt: added (not in the signed manifest)"


def test_file_removed(case, tmp_path: Path) -> None:
    _, _, _, out = case
    gone = edit(
        out, tmp_path / "gone.zip", lambda f: {k: v for k, v in f.items() if k != "report.pdf"}
    )
    assert first_problem(gone) == "report.pdf: missing (the signed manifest lists it)"
    recomputed = edit(
        out,
        tmp_path / "recomputed.zip",
        lambda f: resign({k: v for k, v in f.items() if k != "report.pdf"}, None),
    )
    assert first_problem(recomputed).startswith("manifest.sig: the signature does not match")
    resigned = edit(
        out,
        tmp_path / "resigned.zip",
        lambda f: resign({k: v for k, v in f.items() if k != "report.pdf"}, OTHER_SIGNER),
    )
    assert first_problem(resigned, OTHER_SIGNER.public) == (
        "report.pdf: missing (every bundle holds it)"
    )


def test_report_not_bound_by_the_manifest(case, tmp_path: Path) -> None:
    _, _, _, out = case

    def unbind(files: dict[str, bytes]) -> dict[str, bytes]:
        doc = json.loads(files["manifest.json"])
        del doc["files"]["report.html"]
        files["manifest.json"] = json.dumps(doc).encode()
        files["manifest.sig"] = base64.b64encode(OTHER_SIGNER.sign(files["manifest.json"]))
        return files

    bad = edit(out, tmp_path / "bad.zip", unbind)
    problem = first_problem(bad, OTHER_SIGNER.public)
    assert problem.startswith("manifest.json: names key")  # its fingerprint is still ours
    doc_fix = edit(
        bad,
        tmp_path / "bad2.zip",
        lambda f: {
            **f,
            "manifest.json": (
                m := json.dumps(
                    {
                        **json.loads(f["manifest.json"]),
                        "fingerprint": OTHER_SIGNER.public.fingerprint,
                    }
                ).encode()
            ),
            "manifest.sig": base64.b64encode(OTHER_SIGNER.sign(m)),
        },
    )
    assert first_problem(doc_fix, OTHER_SIGNER.public) == (
        "report.html: not bound by the signed manifest"
    )


def test_last_hit_dropped_with_its_link(case, tmp_path: Path, monkeypatch) -> None:
    """Cutting the last hit and its link off the end, re-signed by a forger whose key is
    trusted: the chain proof is contiguous, so only the store can tell."""
    store, a, _, out = case

    def cut(files: dict[str, bytes]) -> dict[str, bytes]:
        links = chain_lines(files["chain.json"])[:-1]
        files = {k: v for k, v in files.items() if not k.startswith("hits/003")}
        files["chain.json"] = chain_bytes(links)
        doc = json.loads(files["manifest.json"])
        doc["hits"] = 2
        doc["chain"].update(last_seq=5, last_hash=links[-1]["hash"])
        files["manifest.json"] = json.dumps(doc).encode()
        return resign(files, OTHER_SIGNER)

    bad = edit(out, tmp_path / "bad.zip", cut)
    assert first_problem(bad).startswith("manifest.sig: signed by another key")
    assert verify_bundle(bad, OTHER_SIGNER.public).ok  # offline, a forger's key proves nothing
    monkeypatch.setattr(verify, "EXPORT_MARGIN", timedelta(seconds=-60))
    problem = first_problem(bad, OTHER_SIGNER.public, store=store)
    assert problem.startswith("chain.json: the store's link #6 (hit ")
    assert problem.endswith(f"of copy {a}) is older than the bundle's export but not in it")


def test_hit_hidden_as_a_hashes_only_link(case, tmp_path: Path) -> None:
    """A hit of the copy turned into a bare link (as if another copy's): continuity holds,
    the store says whose link it is."""
    store, a, _, out = case

    def hide(files: dict[str, bytes]) -> dict[str, bytes]:
        links = chain_lines(files["chain.json"])
        for x in links:
            if x["seq"] == 3:
                for k in ("kind", "ref_id", "record"):
                    del x[k]
        forged = _drop_first_hit(files)
        forged["chain.json"] = chain_bytes(links)
        return resign(forged, OTHER_SIGNER)

    bad = edit(out, tmp_path / "bad.zip", hide)
    assert verify_bundle(bad, OTHER_SIGNER.public).ok
    problem = first_problem(bad, OTHER_SIGNER.public, store=store)
    assert (
        problem.startswith("chain.json: link #3 is hit ") and f"of copy {a} in the store" in problem
    )


def test_edited_hit_is_named_even_under_a_trusted_forgers_key(case, tmp_path: Path) -> None:
    _, _, _, out = case

    def change_sender(files: dict[str, bytes]) -> dict[str, bytes]:
        doc = json.loads(files["hits/002.json"])
        doc["sender"] = "someone-else@x.example"
        files["hits/002.json"] = json.dumps(doc).encode()
        return resign(files, OTHER_SIGNER)

    bad = edit(out, tmp_path / "bad.zip", change_sender)
    assert first_problem(bad, OTHER_SIGNER.public) == (
        "hits/002.json: differs from the record of link #5 (hit "
        f"{json.loads(members(out)['hits/002.json'])['id']}) (sender)"
    )


def test_another_keys_signature(case, tmp_path: Path) -> None:
    _, _, _, out = case
    bad = edit(out, tmp_path / "bad.zip", lambda f: resign(f, OTHER_SIGNER))
    assert first_problem(bad).startswith("manifest.sig: signed by another key")
    assert verify_bundle(bad, OTHER_SIGNER.public).ok  # the same bundle under the key it names


def test_another_copys_bundle_with_copy(case, tmp_path: Path) -> None:
    store, a, b, _ = case
    out = tmp_path / "b.zip"
    write_bundle(store, b, out, SIGNER)
    assert first_problem(out, copy=a) == f"this is the bundle of copy {b}, not of copy {a}"


def test_truncated_zip(case, tmp_path: Path) -> None:
    _, _, _, out = case
    data = out.read_bytes()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(data[: len(data) // 2])
    assert first_problem(cut).startswith(
        "cut.zip: not a readable zip archive (truncated or corrupt"
    )
    cut.write_bytes(data[:-10])
    assert first_problem(cut).startswith(
        "cut.zip: not a readable zip archive (truncated or corrupt"
    )


def test_flipped_byte_inside_a_member(case, tmp_path: Path) -> None:
    _, _, _, out = case
    data = bytearray(out.read_bytes())
    with zipfile.ZipFile(out) as zf:
        info = zf.getinfo("hits/001.eml")
    name_len, extra_len = struct.unpack(
        "<HH", data[info.header_offset + 26 : info.header_offset + 30]
    )
    data[info.header_offset + 30 + name_len + extra_len + 5] ^= 0x01  # inside the compressed data
    bad = tmp_path / "bad.zip"
    bad.write_bytes(bytes(data))
    assert first_problem(bad).startswith("hits/001.eml: ")


@pytest.mark.parametrize("name", ["../x", "/etc/cron.d/x", "hits/../../x", "C:/x", "a\\..\\x"])
def test_member_with_an_unsafe_path(case, tmp_path: Path, name: str) -> None:
    _, _, _, out = case
    bad = edit(out, tmp_path / "bad.zip", lambda f: {**f, name: b"x"})
    assert first_problem(bad) == f"member {name!r} has an unsafe name (absolute or '..' path)"


def test_member_twice(case, tmp_path: Path) -> None:
    _, _, _, out = case
    files = members(out)
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf, pytest.warns(UserWarning, match="Duplicate name"):
        for name, data in files.items():
            zf.writestr(name, data)
        zf.writestr("report.html", b"<p>the other one</p>")
    assert first_problem(bad) == "report.html: twice in the zip (which one counts is ambiguous)"


def test_member_sizes_are_bounded(case, tmp_path: Path, monkeypatch) -> None:
    _, _, _, out = case
    monkeypatch.setattr(verify, "MAX_JSON_BYTES", 100)
    assert first_problem(out).startswith("manifest.json: too large (")


def test_chain_proof_must_start_at_the_issuance(case, tmp_path: Path) -> None:
    _, _, _, out = case

    def behead(files: dict[str, bytes]) -> dict[str, bytes]:
        files["chain.json"] = chain_bytes(chain_lines(files["chain.json"])[1:])
        return resign(files, OTHER_SIGNER)

    bad = edit(out, tmp_path / "bad.zip", behead)
    problem = first_problem(bad, OTHER_SIGNER.public)
    assert problem == f"chain.json: does not start at the issuance link of copy {case[1]}"


# --------------------------------------------------------------------------- the key


def test_key_file_is_0600_under_umask_022_and_kept(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(signing.SIGNING_KEY_ENV, raising=False)
    cfg = load_config(None)
    cfg.path = tmp_path / "canary.toml"
    old = os.umask(0o022)
    try:
        state, path, public = signing.ensure_key(cfg)
    finally:
        os.umask(old)
    assert (state, path) == (signing.KeyState.CREATED, tmp_path / "canary.key")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["canary.key"]
    before = path.read_bytes()
    again = signing.ensure_key(cfg)
    assert again == (signing.KeyState.KEPT, path, public) and path.read_bytes() == before
    assert signing.load_signer(cfg).public == public
    # $CANARY_SIGNING_KEY takes the file's place
    monkeypatch.setenv(signing.SIGNING_KEY_ENV, OTHER_SIGNER.private_base64())
    assert signing.ensure_key(cfg)[0] is signing.KeyState.FROM_ENV
    assert signing.load_signer(cfg).public == OTHER_SIGNER.public
    monkeypatch.setenv(signing.SIGNING_KEY_ENV, "not a key")
    with pytest.raises(signing.ConfigError, match="CANARY_SIGNING_KEY"):
        signing.load_signer(cfg)


def test_key_file_setting(tmp_path: Path) -> None:
    (tmp_path / "canary.toml").write_text('[evidence]\nkey_file = "keys/bundles.key"\n')
    r = canary("init", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    path = tmp_path / "keys" / "bundles.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    (tmp_path / "canary.toml").write_text('[evidence]\nkey_fiel = "x"\n')
    r = canary("key", cwd=tmp_path)
    assert r.returncode == 1 and "unknown key 'evidence.key_fiel'" in r.stderr


def test_cli_key_report_and_verify(tmp_path: Path) -> None:
    r = canary("init", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "[evidence]" in (tmp_path / "canary.toml").read_text()
    doc = json.loads(canary("key", "--json", cwd=tmp_path).stdout)
    assert set(doc) == {"public_key", "fingerprint"}
    raw = base64.b64decode(doc["public_key"], validate=True)
    assert len(raw) == 32 and doc["fingerprint"] == hashlib.sha256(raw).hexdigest()
    assert canary("init", cwd=tmp_path).returncode == 0
    assert json.loads(canary("key", "--json", cwd=tmp_path).stdout) == doc  # kept

    from canary.store.engine import open_store

    store = open_store(f"sqlite:///{tmp_path / 'canary.db'}")
    try:
        copy_id = make_copy(store, "Proveedor A", ["ana@canary.example"])
        mail_hit(store, "ana@canary.example")
    finally:
        store.dispose()
    r = canary("report", copy_id, "--out", "case.zip", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["fingerprint"] == doc["fingerprint"]
    (tmp_path / "pub.txt").write_text(canary("key", cwd=tmp_path).stdout)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    bundle_path = str(tmp_path / "case.zip")
    # offline, elsewhere: the key as text, as a file of `canary key`, as its JSON
    for key in (doc["public_key"], str(tmp_path / "pub.txt")):
        r = canary("verify", bundle_path, "--key", key, "--copy", copy_id, cwd=elsewhere)
        assert r.returncode == 0 and r.stdout.startswith("ok: "), r.stderr
    r = canary("verify", bundle_path, cwd=elsewhere)
    assert r.returncode == 1 and "pass --key" in r.stderr and "Traceback" not in r.stderr
    r = canary("verify", bundle_path, "--key", doc["fingerprint"], cwd=elsewhere)
    assert r.returncode == 2 and "fingerprint" in r.stderr
    r = canary("verify", bundle_path, "--key", OTHER_SIGNER.public.base64, cwd=elsewhere)
    assert r.returncode == 1
    assert r.stderr.strip().startswith("not verified: manifest.sig: signed by another key")
    # with the store's key, and against the store
    r = canary("verify", "case.zip", "--against-store", "--json", cwd=tmp_path)
    assert r.returncode == 0 and json.loads(r.stdout)["ok"] is True, r.stderr
    (tmp_path / "junk.zip").write_bytes(b"PK\x03\x04 not really")
    r = canary("verify", "junk.zip", cwd=tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith("not verified: junk.zip: not a readable zip archive")
    assert canary("verify", cwd=tmp_path).returncode == 0  # no bundle: the store's chain


def test_problems_are_one_printable_line(tmp_path: Path) -> None:
    mbytes = json.dumps({"fingerprint": "evil\n\x1b[2Jok: all good\u202e"}).encode()
    bad = write_zip(
        tmp_path / "bad.zip",
        {"manifest.json": mbytes, "manifest.sig": base64.b64encode(OTHER_SIGNER.sign(mbytes))},
    )
    problem = first_problem(bad)
    assert problem.startswith("manifest.sig: signed by another key: the manifest names key evil")
    assert problem.isprintable() and "\\n\\x1b[2J" in problem and "\\u202e" in problem


def test_bundle_is_streamed_not_held_in_memory(sqlite_store: Store, tmp_path: Path) -> None:
    """Ten 3 MB raw messages: writing and checking the bundle never holds them all at once
    (the peak, about 14 MB, is the same with one message as with ten)."""
    import tracemalloc

    copy_id = make_copy(sqlite_store, "Proveedor A", ["ana@canary.example"])
    for i in range(10):
        big = RAW_MAIL + os.urandom(3 * 1024 * 1024)
        mail_hit(sqlite_store, "ana@canary.example", raw=big, mid=f"big{i}")
    out = tmp_path / "big.zip"
    tracemalloc.start()
    try:
        write_bundle(sqlite_store, copy_id, out, SIGNER)
        _, peak_write = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        assert verify_bundle(out, SIGNER.public).ok
        _, peak_check = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out.stat().st_size > 30 * 1024 * 1024
    assert peak_write < 20 * 1024 * 1024, peak_write
    assert peak_check < 20 * 1024 * 1024, peak_check
