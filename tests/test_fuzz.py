"""Fuzzing the readers of untrusted bytes (hypothesis): only ``MaskDepthError`` may escape.

* images: :func:`maskdepth.io.load_rgb`, :func:`~maskdepth.io.load_rgba`,
  :func:`~maskdepth.io.load_depth_mm` and :func:`~maskdepth.io.decode_image` on random
  bytes and on valid PNG / JPEG (and BMP, GIF, TIFF, WebP: Pillow tries every format it
  knows, whatever the file name) with a few random mutations each;
* shards: :func:`maskdepth.data.dataset.index_tar` and :class:`MaskDepthDataset` (every
  item) on a real one-shard dataset whose tar has been mutated (bytes flipped in headers
  and member data, truncation, insertion, deletion).

Fixed budget: ``max_examples`` per test (300 by default; ``MASKDEPTH_FUZZ_EXAMPLES`` to
change), no deadline, derandomised (the same examples every run, so CI is stable; set
``MASKDEPTH_FUZZ_RANDOM=1`` for fresh ones), no example database written into the repo.
Results are recorded in ``results/reliability.md``.
"""

from __future__ import annotations

import io
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is not installed (pip install -e '.[test]')")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from PIL import Image  # noqa: E402

from maskdepth import io as mio  # noqa: E402
from maskdepth.errors import MaskDepthError  # noqa: E402
from tests.helpers import generate_dataset  # noqa: E402

EXAMPLES = int(os.environ.get("MASKDEPTH_FUZZ_EXAMPLES", "300"))
COUNTS: dict[str, dict[str, int]] = {}  # test -> outcome -> examples (printed; see results/reliability.md)


def _count(test: str, outcome: str) -> None:
    c = COUNTS.setdefault(test, {})
    c[outcome] = c.get(outcome, 0) + 1


def _report(test: str) -> None:
    c = COUNTS.get(test, {})
    print(f"\nfuzz {test}: {sum(c.values())} examples: " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())))
    assert sum(c.values()) >= min(EXAMPLES, 50), c  # the budget was really spent


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("MASKDEPTH_FUZZ_RANDOM") != "1",
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)


# --------------------------------------------------------------------------- seeds
def _seed_images() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:24, 0:32]
    rgb = np.clip(np.stack([xx * 7, yy * 9, 128 + 0 * xx], -1) + rng.normal(0, 8, (24, 32, 3)), 0, 255).astype(np.uint8)
    im = Image.fromarray(rgb)
    out = {}

    def save(name, img, fmt, **kw):
        b = io.BytesIO()
        img.save(b, format=fmt, **kw)
        out[name] = b.getvalue()

    save("rgb.png", im, "PNG")
    save("rgba.png", Image.fromarray(np.dstack([rgb, (xx * 8).astype(np.uint8)])), "PNG")
    save("gray16.png", Image.fromarray((yy * 2000 + xx).astype(np.uint16)), "PNG")
    save("palette.png", im.quantize(16), "PNG")
    save("palette_trns.png", Image.fromarray(np.dstack([rgb, (xx > 10).astype(np.uint8) * 255])).quantize(8), "PNG")
    save("base.jpg", im, "JPEG", quality=85)
    save("progressive.jpg", im, "JPEG", quality=85, progressive=True)
    save("cmyk.jpg", im.convert("CMYK"), "JPEG")
    ex = Image.Exif()
    ex[0x0112] = 6
    save("exif.jpg", im, "JPEG", exif=ex.tobytes())
    save("rgb.bmp", im, "BMP")
    save("anim.gif", im, "GIF", save_all=True, append_images=[im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)])
    save("rgb.tif", im, "TIFF", compression="tiff_deflate")
    save("rgb.webp", im, "WEBP", quality=80)
    return out


SEEDS = _seed_images()
SEED_NAMES = sorted(SEEDS)
OPS = ("flip", "set", "insert", "delete", "truncate", "duplicate", "zero_run")


def _mutate(draw, data: bytes, max_ops: int = 6, regions: list[tuple[int, int]] | None = None) -> bytes:
    b = bytearray(data)
    for _ in range(draw(st.integers(1, max_ops))):
        if not b:
            break
        op = draw(st.sampled_from(OPS))
        if regions:
            lo, hi = draw(st.sampled_from(regions))
            lo, hi = min(lo, len(b) - 1), min(hi, len(b))
            pos = draw(st.integers(lo, max(lo, hi - 1)))
        else:
            pos = draw(st.integers(0, len(b) - 1))
        if op == "flip":
            b[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            b[pos] = draw(st.sampled_from([0x00, 0xFF, 0x7F, 0x80, draw(st.integers(0, 255))]))
        elif op == "insert":
            b[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del b[pos : pos + draw(st.integers(1, 16))]
        elif op == "truncate":
            del b[pos:]
        elif op == "duplicate":
            n = draw(st.integers(1, 64))
            b[pos:pos] = b[pos : pos + n]
        elif op == "zero_run":
            n = draw(st.integers(1, 32))
            b[pos : pos + n] = bytes(len(b[pos : pos + n]))
    return bytes(b)


@st.composite
def image_bytes(draw):
    kind = draw(st.sampled_from(["mutated"] * 6 + ["random", "magic+random"]))
    if kind == "random":
        return "random", draw(st.binary(max_size=1024))
    if kind == "magic+random":
        magic = draw(st.sampled_from([b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*", b"RIFF"]))
        return "magic+random", magic + draw(st.binary(max_size=1024))
    name = draw(st.sampled_from(SEED_NAMES))
    return name, _mutate(draw, SEEDS[name])


def _check_loader_result(fn, a):
    assert isinstance(a, np.ndarray), fn
    assert a.dtype in (np.uint8, np.uint16), (fn, a.dtype)
    assert a.ndim in (2, 3) and min(a.shape[:2]) >= 1


@FUZZ
@given(case=image_bytes())
def test_fuzz_image_readers(case):
    """Random and mutated image bytes: each reader returns an array or raises MaskDepthError, nothing else."""
    origin, data = case
    _count("image_readers", "examples")
    readers = (
        ("load_rgb", lambda d: mio.load_rgb(d, name="fuzz")),
        ("load_rgba", lambda d: mio.load_rgba(d, name="fuzz")),
        ("load_depth_mm", lambda d: mio.load_depth_mm(d, name="fuzz")),
        ("decode_image", lambda d: mio.decode_image(d, "fuzz")),
    )
    for fname, fn in readers:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's UserWarnings (palette transparency, EXIF) are not failures
            try:
                a = fn(data)
            except MaskDepthError as e:
                msg = str(e)
                assert msg.startswith("fuzz") and "\n" not in msg, (fname, origin, msg)
                _count("image_readers_calls", "MaskDepthError")
                continue
            except BaseException as e:  # noqa: BLE001 - the point of the test
                pytest.fail(f"{fname} on {origin} ({len(data)} bytes) raised {type(e).__name__}: {str(e)[:200]}")
        _check_loader_result(fname, a)
        _count("image_readers_calls", "array")


def test_fuzz_image_readers_report():
    """Prints the counts of the run above (run it in the same session)."""
    if "image_readers" not in COUNTS:
        pytest.skip("test_fuzz_image_readers did not run in this session")
    for name in ("image_readers", "image_readers_calls"):
        c = COUNTS.get(name, {})
        print(f"\nfuzz {name}: " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())))
    assert COUNTS["image_readers"]["examples"] >= min(EXAMPLES, 50)


def test_fuzz_image_readers_on_files(tmp_path):
    """The path-based entry points too (empty file, directory, mutated file on disk)."""
    p = tmp_path / "x.png"
    for data in (b"", SEEDS["rgb.png"][:40], SEEDS["base.jpg"][:-100]):
        p.write_bytes(data)
        for fn in (mio.load_rgb, mio.load_rgba, mio.load_depth_mm, mio.load_mask):
            with pytest.raises(MaskDepthError, match=str(p)):
                fn(p)
    with pytest.raises(MaskDepthError, match="directory"):
        mio.load_rgb(tmp_path)


# --------------------------------------------------------------------------- shards
@pytest.fixture(scope="module")
def one_shard_dataset(tmp_path_factory) -> Path:
    """A real dataset with a single training shard of 4 samples (64 px)."""
    out = tmp_path_factory.mktemp("fuzz_ds") / "ds"
    generate_dataset(out, render=2, procedural_fg=2, n_samples=4, size=64, shard_size=4, val_frac=0.0, test_frac=0.0)
    assert [p.name for p in (out / "shards").glob("*.tar")] == ["train-00000.tar"]
    return out


def _tar_regions(data: bytes) -> dict[str, list[tuple[int, int]]]:
    """Byte ranges of the tar's member headers, and of the data of each kind of member."""
    import tarfile

    regions: dict[str, list[tuple[int, int]]] = {"header": [], "json": [], "image": []}
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        for m in tf.getmembers():
            regions["header"].append((m.offset, m.offset + 512))
            kind = "json" if m.name.endswith(".json") else "image"
            regions[kind].append((m.offset_data, m.offset_data + max(m.size, 1)))
    return regions


@st.composite
def mutated_tar(draw, base: bytes, regions: dict, kinds: tuple[str, ...]):
    kind = draw(st.sampled_from(kinds))
    if kind == "truncate":
        return kind, base[: draw(st.integers(0, len(base) - 1))]
    if kind == "anywhere":
        return kind, _mutate(draw, base, max_ops=4)
    return kind, _mutate(draw, base, max_ops=4, regions=regions[kind])


def _read_everything(root: Path):
    from maskdepth.data.dataset import MaskDepthDataset, index_tar

    index_tar(root / "shards" / "train-00000.tar")
    ds = MaskDepthDataset(root, "train")
    for i in range(len(ds)):
        item = ds[i]
        assert item["bg"].shape == item["fg_bg"].shape
    return len(ds)


def _shard_fuzz(root: Path, kinds: tuple[str, ...], test: str):
    base = (root / "shards" / "train-00000.tar").read_bytes()
    regions = _tar_regions(base)

    @FUZZ
    @given(case=mutated_tar(base, regions, kinds))
    def run(case):
        kind, data = case
        (root / "shards" / "train-00000.tar").write_bytes(data)
        try:
            n = _read_everything(root)
            _count(test, "read whole" if n == 4 else f"read, {n} of 4 samples, no error")
        except MaskDepthError as e:
            assert "\n" not in str(e), str(e)
            _count(test, "MaskDepthError")
        except BaseException as e:  # noqa: BLE001
            _count(test, type(e).__name__)
            pytest.fail(f"shard mutated in {kind} ({len(data)} bytes): {type(e).__name__}: {str(e)[:200]}")

    run()
    _report(test)


@pytest.fixture()
def fuzz_root(one_shard_dataset, tmp_path) -> Path:
    root = tmp_path / "ds"
    shutil.copytree(one_shard_dataset, root)
    assert _read_everything(root) == 4
    return root


def test_fuzz_index_tar(fuzz_root):
    """index_tar on mutated tars: an index or MaskDepthError."""
    from maskdepth.data.dataset import index_tar

    base = (fuzz_root / "shards" / "train-00000.tar").read_bytes()
    regions = _tar_regions(base)
    path = fuzz_root / "shards" / "train-00000.tar"

    @FUZZ
    @given(case=mutated_tar(base, regions, ("header", "anywhere", "truncate")))
    def run(case):
        kind, data = case
        path.write_bytes(data)
        try:
            idx = index_tar(path)
        except MaskDepthError as e:
            assert "\n" not in str(e)
            _count("index_tar", "MaskDepthError")
            return
        except BaseException as e:  # noqa: BLE001
            pytest.fail(f"index_tar on a tar mutated in {kind}: {type(e).__name__}: {e}")
        for key, files in idx.items():
            assert "/" not in key and not key.startswith("..")
            for off, size in files.values():
                assert off >= 0 and size >= 0
        _count("index_tar", "index")

    run()
    _report("index_tar")


def test_fuzz_dataset_items(fuzz_root):
    """MaskDepthDataset on tars mutated in member headers, image data, anywhere, or truncated."""
    _shard_fuzz(fuzz_root, ("header", "image", "truncate", "anywhere"), "dataset_any_mutation")


def test_fuzz_dataset_sample_json(fuzz_root):
    """MaskDepthDataset on tars whose per-sample JSON is mutated."""
    _shard_fuzz(fuzz_root, ("json",), "dataset_sample_json")
