"""(Re)create the bad-input corpus in this folder, deterministically.

    python tests/data/bad/make_corpus.py            # rewrite the files here
    python tests/data/bad/make_corpus.py --out DIR  # write them somewhere else (the tests compare)

Every file is small (the whole corpus stays well under 1 MB); ``CORPUS.md`` lists them
with what each one is and what maskdepth must make of it. The decompression bombs are
small files that *declare* (or decode to) a huge image. ``*.pt`` files are tiny
checkpoints built from a fixed seed; one of them (``ckpt_pickle_exec.pt``) holds a pickle
that would *print* a marker line when unpickled unsafely (harmless, but it shows that a
checkpoint can run code), so loading must refuse it.

Needs numpy, Pillow, torch and PyAV (all dependencies of maskdepth).
"""
from __future__ import annotations

import argparse
import io
import json
import struct
import tarfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
MARKER = "MASKDEPTH-PICKLE-EXECUTED"


# ----------------------------------------------------------------------------- helpers
def pattern(h: int, w: int, seed: int = 0) -> np.ndarray:
    """uint8 (h, w, 3): smooth gradient + a little noise (compresses well, not flat)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    a = np.stack([40 + 150 * xx / max(w - 1, 1), 60 + 120 * yy / max(h - 1, 1), 120 + 0 * xx], -1)
    a = a + rng.normal(0, 2, a.shape)
    return np.clip(a, 0, 255).astype(np.uint8)


def png_bytes(im: Image.Image, **kw) -> bytes:
    b = io.BytesIO()
    im.save(b, format="PNG", **kw)
    return b.getvalue()


def jpeg_bytes(im: Image.Image, **kw) -> bytes:
    b = io.BytesIO()
    im.save(b, format="JPEG", quality=90, **kw)
    return b.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_declared(width: int, height: int, bit_depth: int = 8, color_type: int = 0, rows: int = 4) -> bytes:
    """A PNG whose IHDR declares ``width x height`` but whose IDAT holds only ``rows`` rows of zeros."""
    bpp = {0: 1, 2: 3, 6: 4}[color_type] * bit_depth / 8
    row = b"\x00" + b"\x00" * int(np.ceil(width * bpp))
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(row * rows, 9)) + png_chunk(b"IEND", b"")


def jpeg_with_size(data: bytes, width: int, height: int) -> bytes:
    """Patch the SOF0/SOF2 frame header of a JPEG to declare another size."""
    b = bytearray(data)
    i = 2
    while i < len(b):
        assert b[i] == 0xFF
        marker, seglen = b[i + 1], struct.unpack(">H", b[i + 2 : i + 4])[0]
        if marker in (0xC0, 0xC2):
            b[i + 5 : i + 9] = struct.pack(">HH", height, width)
            return bytes(b)
        i += 2 + seglen
    raise ValueError("no SOF marker")


def exif_with_orientation(value: int) -> bytes:
    ex = Image.Exif()
    ex[0x0112] = value
    return ex.tobytes()


def tar_of(members: list[tuple[str, bytes]], symlinks: tuple[tuple[str, str], ...] = ()) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for name, data in members:
            ti = tarfile.TarInfo(name)
            ti.size, ti.mtime, ti.mode, ti.uid, ti.gid, ti.uname, ti.gname = len(data), 0, 0o644, 0, 0, "", ""
            tf.addfile(ti, io.BytesIO(data))
        for name, target in symlinks:
            ti = tarfile.TarInfo(name)
            ti.type, ti.linkname, ti.mtime, ti.mode, ti.uname, ti.gname = tarfile.SYMTYPE, target, 0, 0o777, "", ""
            tf.addfile(ti)
    return buf.getvalue()


def sample_files(key: str, seed: int, bg_id: str = "render/00000") -> list[tuple[str, bytes]]:
    """One well-formed 64 px sample in the dataset's WebDataset layout (metric depth)."""
    img = pattern(64, 64, seed)
    mask = np.zeros((64, 64), np.uint8)
    mask[20:50, 24:40] = 255
    depth = np.full((64, 64), 3000, np.uint16)
    depth[mask > 0] = 2000
    meta = {"key": key, "split": "train", "index": 0, "seed": 0, "bg_id": bg_id, "bg_kind": "render", "fg_id": "procedural/00000",
            "fg_category": "person", "depth_kind": "metric", "placement": {}, "mask_fraction": float((mask > 0).mean())}
    return [
        (f"{key}.fg_bg.jpg", jpeg_bytes(Image.fromarray(img), subsampling=0)),
        (f"{key}.mask.png", png_bytes(Image.fromarray(mask))),
        (f"{key}.depth.png", png_bytes(Image.fromarray(depth))),
        (f"{key}.json", json.dumps(meta, sort_keys=True).encode()),
    ]


# ----------------------------------------------------------------------------- the corpus
def build() -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    good = pattern(48, 64, 1)  # H=48, W=64
    good_png = png_bytes(Image.fromarray(good))
    good_jpg = jpeg_bytes(Image.fromarray(good))

    # --- good references (pairs for the acceptable variants)
    files["good_bg.png"] = png_bytes(Image.fromarray(pattern(48, 64, 2)))
    files["good_image.png"] = good_png
    files["good_image.jpg"] = good_jpg

    # --- unreadable
    files["empty.png"] = b""
    files["empty.jpg"] = b""
    files["truncated.jpg"] = good_jpg[: len(good_jpg) // 2]
    files["truncated.png"] = good_png[: len(good_png) // 2]
    files["png_header_only.png"] = good_png[:33]  # signature + IHDR, no IDAT
    files["not_image.png"] = b"this is a text file with a .png name\n" * 8
    files["not_image.jpg"] = b"<!doctype html><html><body>not a jpeg</body></html>\n"
    files["random_bytes.png"] = np.random.default_rng(5).integers(0, 256, 3000, dtype=np.uint8).tobytes()
    files["jpeg_magic_then_garbage.jpg"] = b"\xff\xd8\xff\xe0" + np.random.default_rng(6).integers(0, 256, 2000, dtype=np.uint8).tobytes()

    # --- decompression bombs: small files, huge images
    files["bomb_declared_1gpx.png"] = png_declared(32768, 32768)  # 1.07 Gpx declared, > 2 x limit: refused at open
    b = io.BytesIO()
    Image.new("1", (10000, 10000), 0).save(b, format="PNG", optimize=True)
    files["bomb_100mpx_1bit.png"] = b.getvalue()  # a *valid* 100 Mpx image (between 1x and 2x the limit) in ~12 kB
    files["bomb_declared_3gpx.jpg"] = jpeg_with_size(good_jpg, 60000, 60000)

    # --- acceptable variants (must work)
    g16 = (np.linspace(0, 65535, 48 * 64).reshape(48, 64)).astype(np.uint16)
    files["gray16.png"] = png_bytes(Image.fromarray(g16))
    import cv2  # 16-bit RGB PNG: Pillow cannot write one

    ok, enc = cv2.imencode(".png", (good.astype(np.uint16) * 257)[..., ::-1])
    assert ok
    files["rgb16.png"] = enc.tobytes()
    files["palette.png"] = png_bytes(Image.fromarray(good).quantize(16))
    files["cmyk.jpg"] = jpeg_bytes(Image.fromarray(good).convert("CMYK"))
    files["gray.jpg"] = jpeg_bytes(Image.fromarray(good).convert("L"))
    files["gray.png"] = png_bytes(Image.fromarray(good).convert("L"))
    files["rgba_as_image.png"] = png_bytes(Image.fromarray(np.dstack([good, np.full((48, 64), 200, np.uint8)])))
    files["la.png"] = png_bytes(Image.fromarray(good).convert("L").convert("LA"))
    files["progressive.jpg"] = jpeg_bytes(Image.fromarray(good), progressive=True)
    # EXIF orientation 6 (display = stored rotated 90 deg clockwise): stored 64x48 -> shown 48x64.
    # A red block marks the stored top-left corner; displayed, it is at the top-right.
    stored = good.copy()
    stored[:12, :12] = (255, 0, 0)
    files["exif_rot6.jpg"] = jpeg_bytes(Image.fromarray(stored), exif=exif_with_orientation(6))
    files["exif_bg_portrait.png"] = png_bytes(Image.fromarray(np.ascontiguousarray(np.rot90(good, -1))))  # 48 wide x 64 high
    files["exif_bad_orientation.jpg"] = jpeg_bytes(Image.fromarray(good), exif=exif_with_orientation(9))  # no such orientation: ignored
    files["exif_garbage.jpg"] = jpeg_bytes(Image.fromarray(good), exif=b"Exif\x00\x00" + b"\x00\xff" * 40)

    # --- sizes
    files["tiny_1x1.png"] = png_bytes(Image.fromarray(np.zeros((1, 1, 3), np.uint8)))
    big = Image.new("1", (4000, 3000), 0)  # 12 Mpx, tiny file: works for predict, over a small server limit
    big.paste(1, (1000, 800, 2600, 2900))
    files["large_4000x3000.png"] = png_bytes(big, optimize=True)
    files["large_bg_4000x3000.png"] = png_bytes(Image.new("1", (4000, 3000), 0), optimize=True)
    files["same_aspect_128x96.png"] = png_bytes(Image.fromarray(pattern(96, 128, 2)))  # 2x good_bg: resized with a warning
    files["other_aspect_64x64.png"] = png_bytes(Image.fromarray(pattern(64, 64, 2)))  # another framing: refused

    # --- foreground cutouts (RGBA needed)
    cut = np.zeros((40, 24, 4), np.uint8)
    cut[..., :3] = (200, 60, 40)
    cut[4:36, 4:20, 3] = 255
    files["fg_rgba.png"] = png_bytes(Image.fromarray(cut))
    files["fg_rgb_no_alpha.png"] = png_bytes(Image.fromarray(cut[..., :3]))
    files["fg_alpha_opaque.png"] = png_bytes(Image.fromarray(np.dstack([cut[..., :3], np.full((40, 24), 255, np.uint8)])))
    files["fg_alpha_empty.png"] = png_bytes(Image.fromarray(np.dstack([cut[..., :3], np.zeros((40, 24), np.uint8)])))
    pal = Image.fromarray(cut).convert("RGBA").quantize(8)  # palette with a transparent entry
    files["fg_palette_transparent.png"] = png_bytes(pal)
    la = np.dstack([np.full((40, 24), 128, np.uint8), cut[..., 3]])
    files["fg_la.png"] = png_bytes(Image.fromarray(la, "LA"))

    # --- videos (64x48, 6 frames)
    import av

    vb = io.BytesIO()
    c = av.open(vb, "w", format="mp4")
    s = c.add_stream("libx264", rate=10)
    s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
    s.options = {"crf": "30", "preset": "ultrafast", "x264-params": "threads=1"}
    bgv = pattern(48, 64, 2)
    for i in range(6):
        f = bgv.copy()
        f[10:40, 8 + 6 * i : 20 + 6 * i] = (230, 50, 40)
        for pkt in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
            c.mux(pkt)
    for pkt in s.encode():
        c.mux(pkt)
    c.close()
    files["clip_64x48.mp4"] = vb.getvalue()
    files["truncated.mp4"] = files["clip_64x48.mp4"][: len(files["clip_64x48.mp4"]) // 3]
    files["empty.mp4"] = b""
    files["not_video.mp4"] = b"not a video at all\n" * 20

    # --- checkpoints
    import torch

    from maskdepth.model import create_model

    def tsave(obj) -> bytes:
        b = io.BytesIO()
        torch.save(obj, b)
        return b.getvalue()

    torch.manual_seed(0)
    tiny = create_model("tiny", pretrained=False)
    sd = {k: v.detach().clone() for k, v in tiny.state_dict().items()}
    base = {"format": "maskdepth-checkpoint", "version": 1, "model": {"preset": "tiny", "config": tiny.config}, "state_dict": sd,
            "train": None, "meta": {"size": 64}}
    files["ckpt_empty.pt"] = b""
    files["ckpt_random.pt"] = np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    good_ck = tsave(base)
    files["ckpt_truncated.pt"] = good_ck[: len(good_ck) // 2]
    files["ckpt_not_maskdepth.pt"] = tsave({"weights": torch.zeros(3), "epoch": 1})
    files["ckpt_other_arch.pt"] = tsave({**base, "model": {"preset": "tiny", "config": {**tiny.config, "decoder_channels": [8, 8, 8, 8]}}})
    files["ckpt_peer_c_with_tiny_weights.pt"] = tsave({**base, "model": {"preset": "peer_c", "config": {"name": "peer_c"}}})
    files["ckpt_unknown_preset.pt"] = tsave({**base, "model": {"preset": "huge", "config": {"name": "huge"}}, "state_dict": {}})
    files["ckpt_version99.pt"] = tsave({**base, "version": 99, "state_dict": {}})

    class Exec:  # unpickled unsafely, this calls print(MARKER)
        def __reduce__(self):
            return (print, (MARKER,))

    files["ckpt_pickle_exec.pt"] = tsave({**base, "state_dict": {}, "meta": {"size": 64, "payload": Exec()}})

    # --- shards (dataset tars; 64 px samples referring to background render/00000)
    ok_sample = sample_files("train_0000000", 1)
    files["shard_traversal.tar"] = tar_of(ok_sample + [("../evil.json", b"{}")])
    files["shard_absolute.tar"] = tar_of(ok_sample + [("/tmp/evil.json", b"{}")])
    files["shard_subdir.tar"] = tar_of(ok_sample + [("sub/train_0000001.json", b"{}")])
    files["shard_dotdot_name.tar"] = tar_of(ok_sample + [("..train_0000001.json", b"{}")])
    full = tar_of(ok_sample + sample_files("train_0000001", 2))
    files["shard_truncated.tar"] = full[: 512 * 5 + 100]  # cut inside the second member's data
    files["shard_garbage.tar"] = np.random.default_rng(8).integers(0, 256, 5000, dtype=np.uint8).tobytes()
    files["shard_symlink.tar"] = tar_of([m for m in ok_sample if not m[0].endswith(".fg_bg.jpg")], symlinks=(("train_0000000.fg_bg.jpg", "/etc/passwd"),))
    files["shard_missing_mask.tar"] = tar_of([m for m in ok_sample if not m[0].endswith(".mask.png")])
    bad_img = [(n, b"not a jpeg" * 10 if n.endswith(".fg_bg.jpg") else d) for n, d in ok_sample]
    files["shard_bad_image.tar"] = tar_of(bad_img)
    bad_json = [(n, b'{"key": "train_0000000", "bg_id": ' if n.endswith(".json") else d) for n, d in ok_sample]
    files["shard_bad_json.tar"] = tar_of(bad_json)
    no_bg = [(n, json.dumps({"key": "train_0000000", "depth_kind": "metric"}).encode() if n.endswith(".json") else d) for n, d in ok_sample]
    files["shard_json_missing_keys.tar"] = tar_of(no_bg)
    files["shard_unknown_background.tar"] = tar_of(sample_files("train_0000000", 1, bg_id="render/99999"))

    # --- configuration files (for `--config`, once it exists)
    files["config_malformed.yaml"] = b"model: [tiny\nepochs: 2\n  batch-size: : 8\n"
    files["config_unknown_key.yaml"] = b"model: tiny\nepochs: 2\nbatch_sise: 8\n"
    files["config_wrong_type.yaml"] = b"model: tiny\nepochs: many\n"
    files["config_not_mapping.yaml"] = b"- just\n- a list\n"
    return files


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE, help="output folder (default: this folder)")
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    files = build()
    for name, data in sorted(files.items()):
        (a.out / name).write_bytes(data)
    total = sum(len(d) for d in files.values())
    print(f"{len(files)} files, {total} bytes -> {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
