"""``salkd.weights``: the registry of released weights and ``get`` against a local HTTP server.

The server (127.0.0.1, a free port, a thread) serves a temporary copy of ../shared/weights, so no
other network is used. Tests that need the shared weights are marked ``realdata``.
"""
from __future__ import annotations

import argparse
import functools
import http.server
import shutil
import threading
from pathlib import Path

import pytest

from salkd import paths, weights

SHARED_WEIGHTS = paths.shared_data().parent / "weights"


def _need_weights() -> Path:
    if not (SHARED_WEIGHTS / "SHA256SUMS").is_file():
        pytest.skip(f"shared weights not found at {SHARED_WEIGHTS}")
    return SHARED_WEIGHTS


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - keep the test output clean
        pass


@pytest.fixture()
def served(tmp_path):
    """(base_url, served folder): a copy of shared/weights behind a local HTTP server."""
    root = tmp_path / "served"
    shutil.copytree(_need_weights(), root)
    for p in root.rglob("*"):  # the shared copy is read-only; the tests corrupt files of this one
        p.chmod(0o755 if p.is_dir() else 0o644)
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_registry_entries():
    assert weights.names() == ["csnet_x2", "csnet_x1", "tinyhd_s", "tinyhd_m"]
    for e in weights.REGISTRY.values():
        for f in e.files:
            assert len(f.sha256) == 64 and int(f.sha256, 16) >= 0
            assert f.url.startswith("https://raw.githubusercontent.com/")
    assert "2176012" in weights.entry("csnet_x2").files[0].url
    assert weights.entry("csnet_x2").files[0].url.endswith("/CSNet/checkpoints/csnet-L-x2/csnet-L-x2.pth.tar")
    assert [f.path for f in weights.entry("csnet_x1").files] == ["csnet/csnet-L-x1.pth.tar", "csnet/csnet-L-x1.bin"]
    assert "/2657310" in weights.entry("tinyhd_m").files[0].url
    assert weights.entry("tinyhd_s").files[0].url.endswith("/weights/d123s_rc4_rc1T.pth")
    assert "CC BY-NC-SA 4.0" in weights.entry("csnet_x2").license
    assert "no license file" in weights.entry("tinyhd_s").license
    with pytest.raises(KeyError, match="tinyhd_s"):
        weights.entry("tinyhd_l")


@pytest.mark.realdata
def test_registry_checksums_match_sha256sums_and_files():
    root = _need_weights()
    sums = dict(reversed(line.split()) for line in (root / "SHA256SUMS").read_text().splitlines() if line.strip())
    listed = {f.path: f.sha256 for e in weights.REGISTRY.values() for f in e.files}
    assert listed == sums
    for rel, sha in listed.items():
        assert weights.sha256_file(root / rel) == sha


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["csnet_x2", "tinyhd_s"])
def test_get_downloads_checks_and_loads(served, tmp_path, name):
    base, _ = served
    dest = tmp_path / "dest"
    path = weights.get(name, dest, base_url=base, progress=False)
    e = weights.entry(name)
    assert path == dest / e.file
    assert [p.relative_to(dest).as_posix() for p in _files(dest)] == sorted(f.path for f in e.files)
    for f in e.files:
        assert weights.sha256_file(dest / f.path) == f.sha256
    from salkd.models import pretrained

    model = pretrained.load(name, path)
    assert not model.training
    # a second call keeps the valid files
    mtime = path.stat().st_mtime_ns
    assert weights.get(name, dest, base_url=base, progress=False) == path and path.stat().st_mtime_ns == mtime


@pytest.mark.realdata
def test_default_destination_is_salkd_weights(served, tmp_path, monkeypatch):
    base, _ = served
    monkeypatch.setenv("SALKD_WEIGHTS", str(tmp_path / "w"))
    monkeypatch.setenv("SALKD_SHARED", str(tmp_path / "no-shared" / "data"))
    assert weights.find("tinyhd_m") is None
    path = weights.get("tinyhd_m", base_url=base, progress=False)
    assert path == tmp_path / "w" / "tinyhd" / "d123m_rc4_rc1T.pth"
    assert weights.find("tinyhd_m") == path
    rows = {r["name"]: r for r in weights.list_weights()}
    assert rows["tinyhd_m"]["present"] and not rows["tinyhd_s"]["present"]


def _corrupt(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.realdata
def test_corrupted_file_is_an_error_and_nothing_is_kept(served, tmp_path):
    base, root = served
    _corrupt(root / "tinyhd" / "d123s_rc4_rc1T.pth")
    dest = tmp_path / "dest"
    with pytest.raises(weights.WeightsError, match="SHA256 mismatch"):
        weights.get("tinyhd_s", dest, base_url=base, progress=False)
    assert _files(dest) == []


@pytest.mark.realdata
def test_csnet_is_all_or_nothing(served, tmp_path):
    """The .pth.tar downloads fine but its .bin is corrupt: neither file stays."""
    base, root = served
    _corrupt(root / "csnet" / "csnet-L-x2.bin")
    dest = tmp_path / "dest"
    with pytest.raises(weights.WeightsError, match=r"csnet-L-x2\.bin: SHA256 mismatch"):
        weights.get("csnet_x2", dest, base_url=base, progress=False)
    assert _files(dest) == []


@pytest.mark.realdata
def test_missing_on_server_is_an_error(served, tmp_path):
    base, root = served
    (root / "tinyhd" / "d123m_rc4_rc1T.pth").unlink()
    with pytest.raises(weights.WeightsError, match="404"):
        weights.get("tinyhd_m", tmp_path / "dest", base_url=base, progress=False)
    assert _files(tmp_path / "dest") == []


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="salkd")
    sub = p.add_subparsers(dest="cmd", required=True)
    weights.add_cli(sub)
    return p


def test_cli_list(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SALKD_WEIGHTS", str(tmp_path / "w"))
    monkeypatch.setenv("SALKD_SHARED", str(tmp_path / "no-shared" / "data"))
    assert weights.run_cli(_parser().parse_args(["weights"])) == 0
    out = capsys.readouterr().out
    for name in weights.names():
        assert name in out and f"salkd weights get {name}" in out
    assert "CC BY-NC-SA 4.0" in out and weights.entry("tinyhd_m").files[0].sha256 in out
    assert "github.com/ShangHua-Gao/SOD100K" in out and "github.com/feiyanhu/tinyHD" in out


@pytest.mark.realdata
def test_cli_get(served, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SALKD_PROGRESS", "0")
    base, root = served
    args = _parser().parse_args(["weights", "get", "csnet_x1", "--dir", str(tmp_path / "d"), "--base-url", base])
    assert weights.run_cli(args) == 0
    assert "SHA256 ok" in capsys.readouterr().out and (tmp_path / "d" / "csnet" / "csnet-L-x1.bin").is_file()
    _corrupt(root / "tinyhd" / "d123s_rc4_rc1T.pth")
    args = _parser().parse_args(["weights", "get", "tinyhd_s", "--dir", str(tmp_path / "e"), "--base-url", base])
    assert weights.run_cli(args) == 1
    assert "salkd: error:" in capsys.readouterr().err and _files(tmp_path / "e") == []
