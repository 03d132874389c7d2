"""Faults: ``kill -9`` during generation and training, a full disk, a read-only output
directory, and an inference that takes too long in the server.

How the kills are made
----------------------
* **Exact moments** (generation and checkpoint writes): the command runs as a real
  ``python -m maskdepth.cli ...`` subprocess in a session of its own, with a
  ``sitecustomize.py`` (written here, put first on ``PYTHONPATH``) that wraps ``os.replace``
  and ``os.fsync``. When the path being written matches the fault's pattern it sends
  ``SIGKILL`` to its own process group (the command and its worker processes), i.e. a
  ``kill -9`` at that exact point: before/after a rename, or in the middle of writing a
  temporary file (the file is cut to half its length first, as a killed writer leaves it).
  Nothing in the package is patched or changed; the test runner's own process group is never
  signalled (the hook checks).
* **Random moments**: the test itself sends ``SIGKILL`` from outside, at random times (fixed
  seed) measured from the moment the command's first file of interest appears.

After each kill the state on disk is checked (every finished file is complete, every
checkpoint loadable), then ``--resume`` runs and its result is compared with an
uninterrupted run: byte for byte for datasets, tensor for tensor for weights.

Disk full / read-only: a small ``tmpfs`` is mounted (needs root and mount rights; the test
says so and skips otherwise) and remounted read-only; the same faults are also simulated in
process (``OSError(ENOSPC)``/``OSError(EROFS)`` from the writer), which runs everywhere.
Running as root, ``chmod 0555`` does not stop writes, so read-only is a read-only mount here.
"""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import types
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.helpers import REPO

HOOK = r'''
"""Fault injection for tests/test_faults.py (only active when MASKDEPTH_FAULT is set).

MASKDEPTH_FAULT = "WHEN|OP|N|PATTERN": on the N-th os.replace / os.fsync (OP) of a path
matching the fnmatch PATTERN (the destination for replace, the open file for fsync), SIGKILL
this process group. WHEN: before / after (replace); at (fsync: the temporary file is fully
written, not yet renamed) / half (fsync: first cut the file to half its length).
"""
import fnmatch
import os
import signal

_SPEC = os.environ.get("MASKDEPTH_FAULT")
if _SPEC:
    _WHEN, _OP, _N, _PAT = _SPEC.split("|", 3)
    _N = int(_N)
    _SEEN = [0]
    _FORBIDDEN = int(os.environ.get("MASKDEPTH_FAULT_FORBIDDEN_PGID", "-1"))

    def _die():
        try:
            with open(os.environ["MASKDEPTH_FAULT_MARK"], "a") as f:
                f.write(f"{os.getpid()} {_SPEC}\n")
        except Exception:
            pass
        pg = os.getpgrp()
        if pg != _FORBIDDEN and pg == os.getsid(0):  # only a session of its own, never the test runner's group
            os.killpg(pg, signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)

    def _hit(path):
        if fnmatch.fnmatch(str(path), _PAT):
            _SEEN[0] += 1
            return _SEEN[0] == _N
        return False

    if _OP == "replace":
        _real_replace = os.replace

        def replace(src, dst, *a, **k):
            hit = _hit(os.fspath(dst))
            if hit and _WHEN == "before":
                _die()
            r = _real_replace(src, dst, *a, **k)
            if hit and _WHEN == "after":
                _die()
            return r

        os.replace = replace
    elif _OP == "fsync":
        _real_fsync = os.fsync

        def fsync(fd):
            n = fd if isinstance(fd, int) else fd.fileno()
            try:
                path = os.readlink(f"/proc/self/fd/{n}")
            except OSError:
                path = ""
            if _hit(path):
                if _WHEN == "half":
                    os.ftruncate(n, os.fstat(n).st_size // 2)
                _die()
            return _real_fsync(fd)

        os.fsync = fsync
'''

GEN = [
    "generate",
    "--render",
    "6",
    "--procedural-fg",
    "6",
    "-n",
    "200",
    "--size",
    "64",
    "--shard-size",
    "20",
    "--workers",
    "2",
    "--quiet",
    "--out",
    "ds",
]  # relative --out: the manifest records it, so every copy is made as ./ds in its own folder
TRAIN = [
    "train",
    "--model",
    "tiny",
    "--no-pretrained",
    "--epochs",
    "2",
    "--batch-size",
    "8",
    "--train-limit",
    "80",
    "--ckpt-every",
    "1",
    "--threads",
    "1",
    "--seed",
    "0",
    "--quiet",
]  # 10 steps an epoch, 20 in all, a checkpoint after every step


# --------------------------------------------------------------------------- running commands
@pytest.fixture(scope="module")
def hook_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("fault_hook")
    (d / "sitecustomize.py").write_text(HOOK)
    return d


class Cmd:
    """A ``python -m maskdepth.cli`` subprocess in a session (process group) of its own."""

    def __init__(self, args, cwd: Path, hook_dir: Path, fault: str | None = None):
        self.mark = cwd / f".fault-{time.time_ns()}"
        env = {k: v for k, v in os.environ.items() if k not in ("MASKDEPTH_FAULT", "MASKDEPTH_DEBUG")}
        env.update(
            OMP_NUM_THREADS="1",
            PYTHONPATH=os.pathsep.join([str(hook_dir), str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            MASKDEPTH_FAULT_FORBIDDEN_PGID=str(os.getpgrp()),
            MASKDEPTH_FAULT_MARK=str(self.mark),
        )
        if fault:
            env["MASKDEPTH_FAULT"] = fault
        self.fault = fault
        self.p = subprocess.Popen(
            [sys.executable, "-m", "maskdepth.cli", *map(str, args)],
            cwd=str(cwd),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.pgid = self.p.pid

    def wait(self, timeout=180) -> tuple[int, str, str]:
        try:
            out, err = self.p.communicate(timeout=timeout)
        finally:
            self.reap()
        return self.p.returncode, out, err

    def kill_main(self):
        """``kill -9 PID`` of the command's main process only (its pool workers are left to themselves)."""
        try:
            os.kill(self.p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def group_alive(self) -> bool:
        try:
            os.killpg(self.pgid, 0)
            return True
        except ProcessLookupError:
            return False

    def reap(self, grace: float = 0.0):
        """Wait ``grace`` s for the process group to end, then SIGKILL what is left of it (only processes this test started)."""
        end = time.time() + grace
        while self.group_alive() and time.time() < end:
            time.sleep(0.05)
        if self.group_alive():
            try:
                os.killpg(self.pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def fired(self) -> bool:
        return self.mark.exists()


def run_ok(args, cwd, hook_dir, timeout=180) -> str:
    rc, out, err = Cmd(args, cwd, hook_dir).wait(timeout)
    assert rc == 0, err[-3000:]
    return out


def run_fault(args, cwd, hook_dir, fault, timeout=180):
    c = Cmd(args, cwd, hook_dir, fault)
    rc, out, err = c.wait(timeout)
    assert c.fired(), f"fault {fault} never triggered (rc {rc}): {err[-2000:]}"
    assert rc == -signal.SIGKILL, (rc, err[-2000:])
    return c


# --------------------------------------------------------------------------- dataset checks
def tree(root: Path, include_tmp: bool = False) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and (include_tmp or not p.name.endswith(".tmp"))
    }


def temp_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and ".tmp" in p.name)


def check_partial_dataset(ds: Path) -> dict:
    """After a kill: every shard that has an index is complete (sha256 matches); every background
    that has its meta JSON has its image; no final-named file is half-written."""
    from maskdepth.data.generate import shard_complete

    state = {"shards_complete": 0, "tar_without_index": 0, "tmp": temp_files(ds) if ds.exists() else []}
    if not (ds / "shards").exists():
        return state
    for idx in (ds / "shards").glob("*.json"):
        assert shard_complete(ds, idx.stem), f"index without a matching tar after the kill: {idx}"
        state["shards_complete"] += 1
    for tar in (ds / "shards").glob("*.tar"):
        if not (ds / "shards" / f"{tar.stem}.json").exists():
            state["tar_without_index"] += 1
            import tarfile

            with tarfile.open(tar) as tf:  # renamed into place only when complete: a whole tar
                assert len(tf.getmembers()) > 0
    for meta in (ds / "backgrounds").glob("*.json"):
        json.loads(meta.read_text())
        assert (ds / "backgrounds" / f"{meta.stem}.png").exists()
    for name in ("manifest.json", "stats.json", "generate_config.json"):
        if (ds / name).exists():
            json.loads((ds / name).read_text())
    return state


def assert_same_dataset(ds: Path, ref: Path):
    got, want = tree(ds), tree(ref)
    assert sorted(got) == sorted(want), set(got) ^ set(want)
    differ = [k for k in want if got[k] != want[k]]
    assert not differ, f"differ from the uninterrupted run: {differ}"
    man = json.loads((ds / "manifest.json").read_text())
    keys = []
    for sh in man["shards"]:
        idx = json.loads((ds / "shards" / f"{sh['name']}.json").read_text())
        want_keys = [f"{sh['split']}_{i:07d}" for i in range(sh["start"], sh["start"] + sh["count"])]
        assert idx["keys"] == want_keys
        import tarfile

        with tarfile.open(ds / "shards" / f"{sh['name']}.tar") as tf:
            assert sorted({m.name.split(".", 1)[0] for m in tf.getmembers()}) == want_keys
        keys += idx["keys"]
    assert len(keys) == len(set(keys)) == 200, "duplicate or missing keys"


@pytest.fixture(scope="module")
def ref_ds(tmp_path_factory, hook_dir) -> Path:
    """The uninterrupted run (the same command, no fault)."""
    d = tmp_path_factory.mktemp("gen_ref")
    run_ok(GEN, d, hook_dir)
    return d / "ds"


# --------------------------------------------------------------------------- generation: kill -9
GEN_MOMENTS = [  # in the order a run reaches them; each resume of the previous state is killed at the next one
    (
        "during background preparation (a background's meta just renamed, others half done)",
        "after|replace|1|*/backgrounds/render__00002.json",
    ),
    ("mid-shard-write (temporary tar cut in half)", "half|fsync|1|*/shards/train-00001.tar.*"),
    ("between tar and index (tar renamed, index not written)", "after|replace|1|*/shards/train-00003.tar"),
    ("mid-index-write (temporary index cut in half)", "half|fsync|1|*/shards/train-00005.json.*"),
    ("every shard done, before stats.json", "before|replace|1|*/stats.json"),
    ("stats written, just before manifest.json", "before|replace|1|*/manifest.json"),
]


def test_generate_killed_at_six_moments_then_resumed(ref_ds, tmp_path, hook_dir):
    """kill -9 at each moment in turn (each --resume is itself killed at the next moment), then a
    last --resume: byte-identical to the uninterrupted run, no duplicate or missing keys, no temp files."""
    log = []
    for i, (what, fault) in enumerate(GEN_MOMENTS):
        run_fault(GEN + (["--resume"] if i else []), tmp_path, hook_dir, fault)
        state = check_partial_dataset(tmp_path / "ds")
        log.append((what, state))
        assert not (tmp_path / "ds" / "manifest.json").exists(), "a manifest before the run finished"
        if "before manifest" in what:
            assert (tmp_path / "ds" / "stats.json").exists()
    assert any(s["tmp"] for _, s in log), "no kill left a temporary file: the mid-write moments were not hit"
    assert any(s["tar_without_index"] for _, s in log)
    run_ok(GEN + ["--resume"], tmp_path, hook_dir)
    assert_same_dataset(tmp_path / "ds", ref_ds)
    assert temp_files(tmp_path / "ds") == [], "stray temporary files after --resume"
    print("\n".join(f"killed {what}: {s}" for what, s in log))


def test_generate_resume_removes_top_level_temp_files(ref_ds, tmp_path, cli):
    """Temporaries of manifest.json/stats.json left by a kill are removed by --resume, too."""
    shutil.copytree(ref_ds, tmp_path / "ds")
    for name in ("manifest.json.k1l2m3n4.tmp", "stats.json.a1b2c3d4.tmp"):
        (tmp_path / "ds" / name).write_bytes(b'{"half": ')
    rc, _, err = cli(tmp_path, *GEN, "--workers", "1", "--resume")
    assert rc == 0, err
    assert temp_files(tmp_path / "ds") == []


def test_generate_kill_main_pid_after_first_tar(ref_ds, tmp_path, hook_dir):
    """A plain `kill -9 <pid>` from outside, the moment the first shard tar appears. Only the main
    process dies; its pool workers finish the shard in hand (atomically) and exit on their own."""
    c = Cmd(GEN, tmp_path, hook_dir)
    shards = tmp_path / "ds" / "shards"
    t0 = time.time()
    while not (shards.exists() and any(p.suffix == ".tar" for p in shards.iterdir())):
        assert c.p.poll() is None, "finished before the first tar was seen"
        assert time.time() - t0 < 120
        time.sleep(0.002)
    c.kill_main()
    c.p.wait(30)
    t_kill = time.time()
    while c.group_alive() and time.time() - t_kill < 20:  # orphaned workers: do they go away by themselves?
        time.sleep(0.05)
    orphans_left, t_gone = c.group_alive(), time.time()
    c.reap()
    _, err = c.p.communicate(timeout=10)  # what the orphans said (to the dead parent's stderr)
    print(
        f"\nkill -9 of the main pid: orphaned workers ended after {t_gone - t_kill:.1f} s; "
        f"they printed {err.count('BrokenPipeError')} BrokenPipeError line(s)"
    )
    assert not orphans_left, "pool workers still alive 20 s after the main process was killed"
    check_partial_dataset(tmp_path / "ds")
    run_ok(GEN + ["--resume"], tmp_path, hook_dir)
    assert_same_dataset(tmp_path / "ds", ref_ds)
    assert temp_files(tmp_path / "ds") == []


def test_generate_killed_at_random_times(ref_ds, tmp_path, hook_dir):
    """Three kill -9 of the whole process group at random times (seeded), each --resume killed again, then a last --resume."""
    rng = random.Random(1234)
    for i in range(3):
        c = Cmd(GEN + (["--resume"] if i else []), tmp_path, hook_dir)
        t0 = time.time()
        while not (tmp_path / "ds" / "generate_config.json").exists() and c.p.poll() is None and time.time() - t0 < 60:
            time.sleep(0.002)
        time.sleep(rng.uniform(0.0, 1.5))
        try:
            os.killpg(c.pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        c.wait(60)
        check_partial_dataset(tmp_path / "ds")
    run_ok(GEN + ["--resume"], tmp_path, hook_dir)
    assert_same_dataset(tmp_path / "ds", ref_ds)
    assert temp_files(tmp_path / "ds") == []


# --------------------------------------------------------------------------- training: kill -9
def train_args(data: Path, run: Path, *extra) -> list:
    return [*TRAIN, "--data", data, "--run-dir", run, *extra]


def weights_of(ckpt: Path) -> dict:
    from maskdepth.checkpoint import read_checkpoint

    return read_checkpoint(ckpt)["state_dict"]


def compare_weights(a: dict, b: dict) -> float:
    """Largest absolute difference between two state dicts (0.0: bitwise equal)."""
    assert a.keys() == b.keys()
    return max(float((a[k].double() - b[k].double()).abs().max()) if a[k].numel() else 0.0 for k in a)


@pytest.fixture(scope="module")
def ref_run(ref_ds, tmp_path_factory, hook_dir) -> Path:
    run = tmp_path_factory.mktemp("train_ref") / "run"
    run_ok(train_args(ref_ds, run, "--workers", "0"), run.parent, hook_dir)
    return run


def test_train_killed_mid_checkpoint_and_at_random_then_resumed(ref_ds, ref_run, tmp_path, hook_dir):
    """Run 1 is killed while writing its 7th checkpoint (temporary file cut in half); each of three
    resumes is then killed at a random moment (seeded) after it wrote its first checkpoint (the
    second of them runs with --workers 2: order and flips come from the sampler, so DataLoader
    workers must not change the result); a last --resume (--workers 0) finishes. After every kill
    last.pt is loadable and its step never goes back; the last resume starts at the saved step;
    the final weights equal the uninterrupted --workers 0 run's, bit for bit."""
    from maskdepth.checkpoint import read_checkpoint

    run = tmp_path / "run"
    ckpt = run / "checkpoints" / "last.pt"
    run_fault(train_args(ref_ds, run, "--workers", "0"), tmp_path, hook_dir, "half|fsync|7|*/checkpoints/last.pt.*")
    assert any(".tmp" in p.name for p in ckpt.parent.iterdir()), "the half-written temporary checkpoint should be there"
    steps = [read_checkpoint(ckpt)["train"]["step"]]
    assert steps[0] == 6, steps  # the 7th write never landed: the file on disk is the 6th, complete
    rng = random.Random(7)
    kills = []
    for k in range(3):
        before = ckpt.stat().st_mtime_ns
        c = Cmd(train_args(ref_ds, run, "--workers", "2" if k == 1 else "0", "--resume"), tmp_path, hook_dir)
        t0 = time.time()
        while ckpt.stat().st_mtime_ns == before and c.p.poll() is None and time.time() - t0 < 60:
            time.sleep(0.002)
        delay = rng.uniform(0.0, 0.4)
        time.sleep(delay)
        try:
            os.killpg(c.pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        rc, _, err = c.wait(60)
        ck = read_checkpoint(ckpt)  # always loadable
        steps.append(ck["train"]["step"])
        kills.append(
            {
                "workers": 2 if k == 1 else 0,
                "delay_s": round(delay, 3),
                "rc": rc,
                "step_on_disk": steps[-1],
                "temp_files": sorted(p.name for p in ckpt.parent.iterdir() if ".tmp" in p.name),
            }
        )
        assert steps[-1] >= steps[-2], steps
        if k == 1:
            assert steps[-1] > steps[-2], "the --workers 2 resume saved no step"
        if steps[-1] >= 20:
            break
    # the last resume shows its progress bar (no --quiet): it must start at the step saved on disk
    args = [a for a in train_args(ref_ds, run, "--workers", "0", "--resume") if a != "--quiet"]
    rc, _, err = Cmd(args, tmp_path, hook_dir).wait()
    assert rc == 0, err[-2000:]
    import re

    first = re.search(r"\|\s*(\d+)/20 \[", err)
    assert first and int(first.group(1)) == steps[-1], (steps, err[:500])
    ck = read_checkpoint(ckpt)
    assert ck["train"]["step"] == 20 and ck["train"]["scheduler"]["last_epoch"] == 20
    diff = compare_weights(weights_of(ckpt), weights_of(ref_run / "checkpoints" / "last.pt"))
    print(f"\nsteps on disk after each kill: {steps}; kills: {kills}; max |w - w_ref| = {diff}")
    assert diff == 0.0, f"resumed weights differ from the uninterrupted run by up to {diff}"
    assert not [p for p in ckpt.parent.iterdir() if ".tmp" in p.name], "stale temporary checkpoints left in checkpoints/"


# --------------------------------------------------------------------------- disk full / read-only (tmpfs)
class Tmpfs:
    def __init__(self, path: Path, size: str):
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)], capture_output=True, text=True)
        if r.returncode:
            pytest.skip(
                f"cannot mount a tmpfs here ({r.stderr.strip() or r.returncode}; needs root with mount rights): "
                "the in-process ENOSPC/EROFS tests below cover the same paths"
            )

    def remount(self, opts: str):
        subprocess.run(["mount", "-o", f"remount,{opts}", str(self.path)], check=True, capture_output=True)

    def close(self):
        subprocess.run(["umount", "-l", str(self.path)], capture_output=True)


@pytest.fixture()
def tmpfs(tmp_path):
    mounts = []

    def make(name: str, size: str) -> Tmpfs:
        m = Tmpfs(tmp_path / name, size)
        mounts.append(m)
        return m

    yield make
    for m in mounts:
        m.close()


def assert_one_line(err: str, *needles):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("maskdepth: error: "), err[-3000:]
    assert "Traceback" not in err
    for n in needles:
        assert n in lines[0], (n, lines[0])


@pytest.fixture()
def cli(monkeypatch, capsys):
    """``maskdepth ...`` in this process (no kill needed here: faster than a subprocess), run in ``cwd``."""
    from maskdepth.cli import main

    def run(cwd: Path, *args):
        monkeypatch.chdir(cwd)
        threads = torch.get_num_threads()
        capsys.readouterr()
        try:
            rc = main([str(a) for a in args])
        finally:
            torch.set_num_threads(threads)  # --threads 1 must not leak into the rest of the session
        out, err = capsys.readouterr()
        return rc, out, err

    return run


def test_generate_disk_full_then_resume(ref_ds, tmpfs, cli):
    """ENOSPC half-way (1 MB tmpfs, the dataset needs ~2 MB): one-line error, finished shards intact,
    no temporary files; after freeing space, --resume completes byte-identical."""
    m = tmpfs("small", "1m")
    rc, _, err = cli(m.path, *GEN)
    assert rc == 2, err[-2000:]
    assert_one_line(err, "No space left on device")
    state = check_partial_dataset(m.path / "ds")
    assert state["shards_complete"] >= 1 and not (m.path / "ds" / "manifest.json").exists()
    m.remount("size=16m")
    rc, _, err = cli(m.path, *GEN, "--resume")
    assert rc == 0, err
    assert_same_dataset(m.path / "ds", ref_ds)
    assert temp_files(m.path / "ds") == []
    print(f"\nENOSPC: {state}")


def test_generate_read_only_output(ref_ds, tmpfs, cli):
    """A read-only output directory: a new dataset and a --resume of a finished one are both refused with
    one line; nothing changes."""
    m = tmpfs("ro", "8m")
    shutil.copytree(ref_ds, m.path / "ds")
    (m.path / "empty").mkdir()
    before = tree(m.path / "ds", include_tmp=True)
    m.remount("ro")
    rc, _, err = cli(m.path, *GEN, "--resume")
    assert rc == 2
    assert_one_line(err, "Read-only file system")
    assert tree(m.path / "ds", include_tmp=True) == before
    rc, _, err = cli(m.path, *GEN[:-1], "empty")
    assert rc == 2
    assert_one_line(err, "Read-only file system", "empty")
    assert list((m.path / "empty").iterdir()) == []


def test_checkpoint_disk_full_then_resume(ref_ds, ref_run, tmpfs, cli):
    """The run directory fills up at the 2nd checkpoint (an atomic write needs room for the old file and
    the new one): one-line error, last.pt (step 1) intact and loadable, no temporary file; with space
    again --resume finishes with the uninterrupted run's weights."""
    from maskdepth.checkpoint import read_checkpoint

    ck_size = (ref_run / "checkpoints" / "last.pt").stat().st_size
    m = tmpfs("run", f"{int(ck_size * 1.6) // 1024}k")
    run = m.path / "run"
    rc, _, err = cli(m.path, *train_args(ref_ds, run, "--workers", "0"))
    assert rc == 2, err[-2000:]
    assert_one_line(err, "No space left on device", "last.pt")
    ck = read_checkpoint(run / "checkpoints" / "last.pt")
    assert ck["train"]["step"] == 1
    assert not [p for p in (run / "checkpoints").iterdir() if ".tmp" in p.name]
    m.remount("size=16m")
    rc, _, err = cli(m.path, *train_args(ref_ds, run, "--workers", "0", "--resume"))
    assert rc == 0, err
    assert compare_weights(weights_of(run / "checkpoints" / "last.pt"), weights_of(ref_run / "checkpoints" / "last.pt")) == 0.0


def test_checkpoint_read_only_run_dir(ref_ds, ref_run, tmpfs, cli):
    m = tmpfs("ro_run", "8m")
    shutil.copytree(ref_run, m.path / "run")
    before = tree(m.path / "run", include_tmp=True)
    m.remount("ro")
    rc, _, err = cli(m.path, *train_args(ref_ds, m.path / "run", "--workers", "0", "--resume"))
    assert rc == 2
    assert_one_line(err, "Read-only file system")
    assert tree(m.path / "run", include_tmp=True) == before


# --------------------------------------------------------------------------- disk full / read-only (in process, everywhere)
def _os_with(**overrides):
    """A stand-in for the ``os`` module inside maskdepth.io with some functions replaced."""
    ns = types.SimpleNamespace(**{k: getattr(os, k) for k in dir(os) if not k.startswith("__")})
    for k, v in overrides.items():
        setattr(ns, k, v)
    return ns


def _failing_fsync(match: str, code: int, after: int = 0):
    seen = [0]

    def fsync(fd):
        path = os.readlink(f"/proc/self/fd/{fd}")
        if match in path:
            seen[0] += 1
            if seen[0] > after:
                raise OSError(code, os.strerror(code))
        return os.fsync(fd)

    return fsync


def test_generate_enospc_in_process(tmp_path, monkeypatch):
    """ENOSPC from the writer at the 3rd shard: MaskDepthError naming the file, earlier shards complete,
    no temporary file, no manifest."""
    import maskdepth.io as mio
    from maskdepth.data.generate import shard_complete
    from maskdepth.errors import MaskDepthError
    from tests.helpers import generate_dataset

    monkeypatch.setattr(mio, "os", _os_with(fsync=_failing_fsync(".tar.", errno.ENOSPC, after=2)))
    out = tmp_path / "ds"
    with pytest.raises(MaskDepthError, match="No space left on device") as e:
        generate_dataset(out, render=2, procedural_fg=2, n_samples=40, size=64, shard_size=8, workers=1)
    assert "\n" not in str(e.value) and ".tar" in str(e.value)
    done = [p.stem for p in (out / "shards").glob("*.json")]
    assert len(done) == 2 and all(shard_complete(out, n) for n in done)
    assert temp_files(out) == [] and not (out / "manifest.json").exists()


def test_checkpoint_enospc_and_erofs_in_process(ref_ds, tmp_path, monkeypatch):
    """The checkpoint writer fails (ENOSPC at the 3rd checkpoint; EROFS when the checkpoints folder is
    read-only): MaskDepthError naming last.pt; the previous checkpoint is intact; no temporary file."""
    import tempfile

    import maskdepth.io as mio
    from maskdepth.checkpoint import read_checkpoint
    from maskdepth.errors import MaskDepthError
    from maskdepth.train.loop import TrainConfig, train

    def cfg(run):
        return TrainConfig(
            data=str(ref_ds),
            run_dir=str(run),
            model="tiny",
            pretrained=False,
            epochs=2,
            batch_size=8,
            train_limit=80,
            ckpt_every=1,
            workers=0,
            val_limit=8,
        )

    monkeypatch.setattr(mio, "os", _os_with(fsync=_failing_fsync("last.pt.", errno.ENOSPC, after=2)))
    run = tmp_path / "full"
    with pytest.raises(MaskDepthError, match="No space left on device") as e:
        train(cfg(run), quiet=True)
    assert "last.pt" in str(e.value) and "\n" not in str(e.value)
    assert read_checkpoint(run / "checkpoints" / "last.pt")["train"]["step"] == 2
    assert [p.name for p in (run / "checkpoints").iterdir()] == ["last.pt"]

    monkeypatch.setattr(mio, "os", os)
    real_mkstemp = tempfile.mkstemp

    def mkstemp(*a, dir=None, **k):
        if dir is not None and Path(dir).name == "checkpoints":
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return real_mkstemp(*a, dir=dir, **k)

    monkeypatch.setattr(mio.tempfile, "mkstemp", mkstemp)
    with pytest.raises(MaskDepthError, match="Read-only file system") as e:
        train(cfg(tmp_path / "ro"), quiet=True)
    assert "last.pt" in str(e.value)


# --------------------------------------------------------------------------- server: inference timeout
def test_server_inference_timeout_gives_504_and_recovers(tmp_path):
    """An inference slower than the request timeout gets 504 JSON at the timeout; the worker is not
    lost (in_flight goes back to 0 when the slow call ends) and the next request works."""
    from maskdepth.checkpoint import save_checkpoint
    from maskdepth.inference.predictor import load_predictor
    from maskdepth.model import create_model
    from maskdepth.serve.app import create_app

    torch.manual_seed(0)
    ck = tmp_path / "tiny.pt"
    save_checkpoint(ck, create_model("tiny", pretrained=False), meta={"size": 64})
    release = threading.Event()

    class Slow:
        def __init__(self, inner):
            self.inner, self.threshold, self.size, self.backend = inner, inner.threshold, inner.size, inner.backend
            self.slow = True

        def predict(self, bg, img):
            if self.slow:
                release.wait(30)
            return self.inner.predict(bg, img)

    slow = Slow(load_predictor(str(ck)))
    app = create_app(slow, model_name="slow", queue_limit=2, timeout_s=0.5)
    import io as _io

    from PIL import Image

    def png(a):
        b = _io.BytesIO()
        Image.fromarray(a).save(b, format="PNG")
        return b.getvalue()

    bg = np.full((48, 64, 3), 90, np.uint8)
    img = bg.copy()
    img[10:40, 20:30] = 200
    files = {"bg": ("bg.png", png(bg), "image/png"), "image": ("i.png", png(img), "image/png")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    with TestClient(app, raise_server_exceptions=False) as c:
        t0 = time.time()
        r = c.post("/predict", files=files)
        assert r.status_code == 504, r.text
        assert r.headers["content-type"].startswith("application/json") and "timed out" in r.json()["error"]
        assert time.time() - t0 < 10
        r2 = c.post("/predict", files=files)  # queued behind the stuck one, never started: cancelled at its timeout
        assert r2.status_code == 504
        assert c.get("/health").json()["in_flight"] >= 1  # the stuck inference still holds the worker
        slow.slow = False
        release.set()
        deadline = time.time() + 20
        while c.get("/health").json()["in_flight"] and time.time() < deadline:
            time.sleep(0.05)
        assert c.get("/health").json()["in_flight"] == 0
        r3 = c.post("/predict", files=files)
        assert r3.status_code == 200, r3.text
