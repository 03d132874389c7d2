"""``maskdepth adapt``: the loop that fine-tunes a model for one camera, and its outputs.

Each step: ``batch_size - n_p`` exact composites of the camera (:mod:`.data`) and, with pseudo-labels,
``n_p = round(pseudo_frac * batch_size)`` of the camera's frames labelled where the mean teacher and the
classical difference agree (:mod:`.pseudo`). Loss: BCE + soft Dice on the composites
(:func:`weighted_mask_loss`: frames' pixels that may hold something weigh 0) + ``pseudo_weight`` x weighted BCE on the frames + an L1 on
log-depth towards the frozen base model on the composites with ``--part decoder`` (no depth labels exist
for the camera; with the default ``--part heads`` the depth output is the base model's exactly, :mod:`.split`). AdamW, constant learning rate after a 10-step warm-up; batch-norm
statistics frozen (small batches of one scene). The padding of every input is the predictor's
(:func:`maskdepth.inference.predictor.pad_to`), so the network trains at the size it runs at.

Choice: every ``eval_every`` steps the pooled IoU on the fixed held-out composites
(:func:`.data.held_out_set`: cutouts, seeds and frames never trained on) is scored, with ``robust_choice``
as the mean over the clean set and the same set under each perturbation of :data:`maskdepth.evaluate.perturb.ROBUSTNESS`
(so a model that gains on the camera's own look but loses robustness is not preferred); the best weights
are kept; the run goes on until the budget is spent (or, with ``patience``, until that many scores bring no
improvement: chosen against on synthetic cameras with known truth, ``results/adapt_synthetic.md``). At the end the adapted model is kept
only if its held-out IoU beats the base model's by ``keep_margin``; else the base model is written
unchanged (``adapt.json`` says so). The frames' own masks are never read.

Background: ``bg`` when given; else estimated from the frames with the base model as the judge, the way
``watch`` does without ``--bg`` (:mod:`.background`), written to ``OUT/bg.png`` (give it to ``predict``/``serve`` as
the bg with the adapted model) and named in ``adapt.json`` (``camera.bg``) and the model's sidecar (``adapt_bg``).

Budget and resume: ``minutes`` bounds the whole run, not only its loop. The loop (training and scoring) gets
what is left of it after the set-up (reading the frames, the background estimate, the held-out composites, the base
model's score) less a reserve for the finish (:func:`finish_reserve_s`: the final scores, the real-frame check and the
export, estimated from the timed scores); with a rerun, the loop's time sums over all runs with this ``--out``.
``OUT/state.pt`` (student, teacher, optimiser, step, the time spent, the scores) is written atomically at every score and
at the stop, and a rerun continues from it. ``adapt.json`` times each part (``timing``).
"""

from __future__ import annotations

import hashlib
import io
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ..checkpoint import load_model, save_checkpoint
from ..errors import MaskDepthError
from ..export import export_model
from ..inference.predictor import network_size, pad_to
from ..inference.runtime import DEFAULT_CHECKPOINT
from ..io import atomic_write_bytes, atomic_write_json, save_png
from .agreement import confident_pixels, disagreement, frame_indices
from .camera import Camera, load_camera
from .config import AdaptConfig
from .data import CompositeStream, Sample, held_out_set, perturbed, real_cutouts
from .infer_size import candidate_sizes, choose_size, native_held_out, score_sizes
from .pseudo import agreement_labels, ema_update, make_teacher, pseudo_loss
from .split import check_splittable, decode, encode, set_trainable, take

DEPTH_DISTILL_WEIGHT = 0.5
WARMUP_STEPS = 10
EXPORT_RESERVE_S = 5.0  # saving, ONNX export and its parity check: 1.3-1.7 s measured at 320x240 on one core (results/adapt.md), x3


def check_config(cfg: AdaptConfig) -> None:
    """Raise MaskDepthError (one line, naming the parameter) for settings out of range."""
    if not cfg.out:
        raise MaskDepthError("is required (the output directory)", param="out")
    if not cfg.minutes > 0:
        raise MaskDepthError(f"must be > 0, got {cfg.minutes}", param="minutes")
    if not 0 <= cfg.pseudo_frac <= 0.5:
        raise MaskDepthError(f"must be in [0, 0.5] (pseudo-labels never dominate), got {cfg.pseudo_frac}", param="pseudo_frac")
    if not 0 <= cfg.pseudo_weight <= 1:
        raise MaskDepthError(f"must be in [0, 1] (pseudo-labels never dominate), got {cfg.pseudo_weight}", param="pseudo_weight")
    for name, least in (("batch_size", 2), ("val_samples", 1), ("eval_every", 1), ("patience", 1), ("max_infer_size", 32)):
        if getattr(cfg, name) is not None and getattr(cfg, name) < least:
            raise MaskDepthError(f"must be >= {least}, got {getattr(cfg, name)}", param=name)
    if cfg.checkpoint and str(cfg.checkpoint).lower().endswith(".onnx"):
        raise MaskDepthError(f"{cfg.checkpoint} is an ONNX file: adapt fine-tunes a PyTorch checkpoint (.pt)", param="checkpoint")


def _device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise MaskDepthError("cuda but no CUDA device is available", param="device")
    return torch.device(name)


def to_batch(images: list[np.ndarray], nhw: tuple[int, int], device) -> torch.Tensor:
    """uint8 ``(h, w, 3)`` images (or ``(h, w)`` label maps), padded like the predictor, as float ``(B, C, H, W)``; images in [0, 1]."""
    a = np.stack([pad_to(np.ascontiguousarray(x), nhw) for x in images])
    t = torch.from_numpy(a.astype(np.float32))
    t = t[:, None] if t.ndim == 3 else t.permute(0, 3, 1, 2)
    return (t / 255.0 if images[0].dtype == np.uint8 else t).to(device)


@torch.no_grad()
def held_out_counts(model, samples: list[Sample], device, perturb=None, batch: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample intersection and union (int64 ``(n,)`` pixel counts, logits > 0, over the weighted content) of ``model``
    on ``samples``; ``perturb``: a :class:`maskdepth.evaluate.perturb.Perturbation` applied to each ``fg_bg`` (a shift
    moves the mask too)."""
    from ..evaluate.perturb import shift_labels

    was = model.training
    model.eval()
    inter, union = [], []
    for i in range(0, len(samples), batch):
        chunk = samples[i : i + batch]
        h, w = chunk[0].bg.shape[:2]
        nhw = network_size(h, w, min(h, w))
        fgs, masks = [s.fg_bg for s in chunk], [s.mask for s in chunk]
        if perturb is not None:
            rng = np.random.default_rng([2024, i])
            fgs = [perturb.apply(f, rng) for f in fgs]
            masks = [shift_labels(m, *perturb.shift) if perturb.shift else m for m in masks]
        logits, _ = model(to_batch([s.bg for s in chunk], nhw, device), to_batch(fgs, nhw, device))
        pred = (logits[:, 0, :h, :w] > 0).cpu().numpy()
        gt, valid = np.stack(masks), np.stack([s.weight > 0 for s in chunk])
        if perturb is not None and perturb.shift:
            valid = np.stack([shift_labels(v, *perturb.shift) for v in valid])
        inter += list((pred & gt & valid).sum(axis=(1, 2)))
        union += list(((pred | gt) & valid).sum(axis=(1, 2)))
    model.train(was)
    return np.asarray(inter, np.int64), np.asarray(union, np.int64)


def held_out_iou(model, samples: list[Sample], device, perturb=None, batch: int = 16) -> float:
    """Pooled IoU (logits > 0) over the content of held-out ``samples`` (:func:`held_out_counts`); 1.0 when nothing is there."""
    inter, union = held_out_counts(model, samples, device, perturb, batch)
    return int(inter.sum()) / int(union.sum()) if union.sum() else 1.0


def weighted_mask_loss(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """BCE-with-logits + soft Dice (as :func:`maskdepth.train.losses.mask_loss`) over the pixels of ``weight`` > 0; ``(B, 1, H, W)`` each."""
    bce = (F.binary_cross_entropy_with_logits(logits, target, reduction="none") * weight).sum() / weight.sum().clamp(min=1.0)
    p, t = torch.sigmoid(logits).flatten(1) * weight.flatten(1), target.flatten(1) * weight.flatten(1)
    dice = (1 - (2 * (p * t).sum(1) + 1.0) / (p.sum(1) + t.sum(1) + 1.0)).mean()
    return bce + dice


def _train_mode(model: torch.nn.Module) -> None:
    """Training mode with batch-norm statistics frozen."""
    model.train()
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.eval()


class Adapter:
    """One adaptation: the base model, the camera, the student, teacher, optimiser and state; see the module docstring."""

    def __init__(self, cfg: AdaptConfig, base: torch.nn.Module, base_meta: dict, cam: Camera, size: int, device):
        self.cfg, self.cam, self.size, self.device = cfg, cam, size, device
        h, w = cam.bg.shape[:2]
        self.nhw = network_size(h, w, min(h, w))
        self.base = base.to(device).eval()
        self.student = make_teacher(base).to(device)
        self.opt = torch.optim.AdamW(set_trainable(self.student, cfg.part), lr=cfg.lr, weight_decay=1e-4)
        self.teacher = make_teacher(base).to(device)
        self.stream = CompositeStream(cam, real_cutouts(cfg.fg_dir, "train"), held_out=False, look=cfg.look, generic=cfg.generic)
        self.val = held_out_set(cam, cfg.fg_dir, cfg.val_samples, cfg.seed)
        self.val_sets = {"clean": self.val}
        if cfg.robust_choice:
            from ..evaluate.perturb import ROBUSTNESS

            self.val_sets.update({p.name: perturbed(self.val, p, cfg.seed) for p in ROBUSTNESS})
        self.val_enc = {k: [self._encode(v[i : i + 16]) for i in range(0, len(v), 16)] for k, v in self.val_sets.items()}  # frozen part
        self.state = {"step": 0, "elapsed_s": 0.0, "history": [], "best_iou": None, "best_step": 0, "bad": 0, "done": None, "runs": 0}
        self.best_state = None
        self.base_meta = base_meta
        self.sizes = candidate_sizes(size, cam.full_hw, cfg.max_infer_size or size)  # None: off (the training size)
        self.size_set = native_held_out(cam, cfg.fg_dir, cfg.val_samples, cfg.seed) if len(self.sizes) > 1 else []
        self.base_sizes: dict[int, dict] = {}

    def size_scores(self, model) -> dict[int, dict]:
        """F of ``model`` at each candidate size on the size composites (:mod:`.infer_size`); ``{}`` with one candidate."""
        if not self.size_set:
            return {}
        from ..inference.predictor import Predictor

        model = model.to(self.device).eval()
        return score_sizes(lambda s: Predictor(model, size=s, device=str(self.device)), self.cam.bg_full, self.size_set, self.sizes)

    # ------------------------------------------------------------------ one step
    def _encode(self, samples: list[Sample]) -> tuple:
        bg, fg = to_batch([x.bg for x in samples], self.nhw, self.device), to_batch([x.fg_bg for x in samples], self.nhw, self.device)
        return encode(self.base, bg, fg, self.cfg.part)

    def _pseudo_labels(self, enc: tuple, frames: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        """Targets and weights ``(n, 1, H, W)`` of camera frames from the teacher on their features (:mod:`.pseudo`)."""
        with torch.no_grad():
            logits, _ = decode(self.teacher, *enc, self.cfg.part)
        h, w = self.cam.bg.shape[:2]
        ph, pw = self.nhw[0] - h, self.nhw[1] - w
        prob = torch.sigmoid(logits[:, 0, :h, :w]).cpu().numpy()
        tw = [agreement_labels(p, self.cam.bg, f) for p, f in zip(prob, frames)]
        target = to_batch([np.pad(t, ((0, ph), (0, pw))) for t, _ in tw], self.nhw, self.device)
        weight = to_batch([np.pad(wt, ((0, ph), (0, pw))) for _, wt in tw], self.nhw, self.device)  # the padding is never labelled
        return target, weight

    def step(self) -> dict:
        """One optimiser step (module docstring); returns its losses."""
        cfg, st = self.cfg, self.state
        rng = np.random.default_rng([cfg.seed, st["step"]])
        n_p = int(round(cfg.pseudo_frac * cfg.batch_size)) if cfg.pseudo else 0
        comps = [self.stream.sample(rng) for _ in range(cfg.batch_size - n_p)]
        frames = [self.cam.frames[i] for i in rng.integers(len(self.cam.frames), size=n_p)]
        nc = len(comps)
        enc = encode(
            self.base,
            to_batch([s.bg for s in comps] + [self.cam.bg] * n_p, self.nhw, self.device),
            to_batch([s.fg_bg for s in comps] + frames, self.nhw, self.device),
            cfg.part,
        )
        for g in self.opt.param_groups:
            g["lr"] = cfg.lr * min(1.0, (st["step"] + 1) / WARMUP_STEPS)
        _train_mode(self.student)
        logits, log_depth = decode(self.student, *enc, cfg.part)
        target = to_batch([s.mask.astype(np.float32) for s in comps], self.nhw, self.device)
        loss_c = weighted_mask_loss(logits[:nc], target, to_batch([s.weight for s in comps], self.nhw, self.device))
        loss_d = torch.zeros((), device=self.device)  # "heads": the depth is the base model's exactly
        if cfg.part == "decoder":
            with torch.no_grad():
                _, base_depth = decode(self.base, *take(enc, 0, nc), cfg.part)
            loss_d = F.l1_loss(log_depth[:nc], base_depth)
        loss_p = torch.zeros((), device=self.device)
        if n_p:
            loss_p = pseudo_loss(logits[nc:], *self._pseudo_labels(take(enc, nc, nc + n_p), frames))
        loss = loss_c + cfg.pseudo_weight * loss_p + DEPTH_DISTILL_WEIGHT * loss_d
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in self.student.parameters() if p.requires_grad], 1.0)
        self.opt.step()
        ema_update(self.teacher, self.student, cfg.ema)
        st["step"] += 1
        return {k: float(v.detach()) for k, v in (("loss", loss), ("composites", loss_c), ("pseudo", loss_p), ("depth", loss_d))}

    @torch.no_grad()
    def val_ious(self, model) -> dict[str, float]:
        """Pooled IoU (logits > 0, weighted pixels) of ``model`` on each held-out set (clean and perturbed), from the cached
        frozen-part outputs, and their ``"mean"`` (the choice's criterion)."""
        model.eval()
        h, w = self.cam.bg.shape[:2]
        out = {}
        for name, samples in self.val_sets.items():
            inter = union = 0
            for i, enc in enumerate(self.val_enc[name]):
                logits, _ = decode(model, *enc, self.cfg.part)
                pred = (logits[:, 0, :h, :w] > 0).cpu().numpy()
                chunk = samples[i * 16 : i * 16 + len(pred)]
                gt, valid = np.stack([s.mask for s in chunk]), np.stack([s.weight > 0 for s in chunk])
                inter += int((pred & gt & valid).sum())
                union += int(((pred | gt) & valid).sum())
            out[name] = inter / union if union else 1.0
        out["mean"] = float(np.mean(list(out.values())))
        return out

    def val_iou(self, model) -> float:
        """The choice's criterion: the mean of :meth:`val_ious` (the clean IoU without ``robust_choice``)."""
        return self.val_ious(model)["mean"]

    @torch.no_grad()
    def real_frames(self, models: dict) -> dict:
        """The label-free check of :mod:`.agreement` on the camera's held-out frames for each of ``models``
        (name -> model): ``{name: {"fp_rate", "fn_rate"}, "frames": n, "confident_px": {"bg", "fg"}}``."""
        cam, h, w = self.cam, *self.cam.bg.shape[:2]
        idx = frame_indices(len(cam.frames))
        conf = [confident_pixels(cam.bg, cam.frames[i], cam.moving[i]) for i in idx]
        out = {"frames": len(idx), "confident_px": {"bg": sum(int(b.sum()) for b, _ in conf), "fg": sum(int(f.sum()) for _, f in conf)}}
        preds = {k: [] for k in models}
        for a in range(0, len(idx), 16):
            chunk = [cam.frames[i] for i in idx[a : a + 16]]
            enc = encode(
                self.base, to_batch([cam.bg] * len(chunk), self.nhw, self.device), to_batch(chunk, self.nhw, self.device), self.cfg.part
            )
            for k, m in models.items():
                m.eval()
                preds[k] += list((decode(m, *enc, self.cfg.part)[0][:, 0, :h, :w] > 0).cpu().numpy())
        return {**{k: disagreement(v, conf) for k, v in preds.items()}, **out}

    # ------------------------------------------------------------------ scoring and state
    def score(self) -> float:
        """Score the held-out composites, keep the best weights, count patience; returns the IoU."""
        st = self.state
        t = time.perf_counter()
        ious = self.val_ious(self.student)
        st["score_s"] = max(st.get("score_s", 0.0), time.perf_counter() - t)
        iou = ious["mean"]
        st["history"].append({"step": st["step"], "iou": round(iou, 5), "elapsed_s": round(st["elapsed_s"], 1),
                              "per_set": {k: round(v, 4) for k, v in ious.items()}})  # fmt: skip
        if st["best_iou"] is None or iou > st["best_iou"]:
            st["best_iou"], st["best_step"], st["bad"] = iou, st["step"], 0
            self.best_state = {k: v.detach().cpu().clone() for k, v in self.student.state_dict().items()}
        else:
            st["bad"] += 1
            if self.cfg.patience is not None and st["bad"] >= self.cfg.patience:
                st["done"] = f"early stop: no better held-out IoU in {self.cfg.patience} scores"
        return iou

    def save(self, path: Path) -> None:
        """Write the resumable state atomically."""
        obj = {"state": self.state, "student": self.student.state_dict(), "teacher": self.teacher.state_dict(),
               "opt": self.opt.state_dict(), "best": self.best_state, "fingerprint": self.fingerprint()}  # fmt: skip
        buf = io.BytesIO()
        torch.save(obj, buf)
        atomic_write_bytes(path, buf.getvalue())

    def load(self, path: Path) -> None:
        """Continue from a state written by :meth:`save`. Raises MaskDepthError when it is another camera's or unreadable."""
        try:
            obj = torch.load(path, map_location=self.device, weights_only=True)  # tensors and plain data only
        except Exception as e:  # noqa: BLE001
            raise MaskDepthError(f"{path}: unreadable adaptation state ({type(e).__name__}); remove it to start again") from None
        if obj.get("fingerprint") != self.fingerprint():
            raise MaskDepthError(f"{path}: state of another camera, base model or settings; use another output directory or remove it")
        self.student.load_state_dict(obj["student"])
        self.teacher.load_state_dict(obj["teacher"])
        self.opt.load_state_dict(obj["opt"])
        self.state, self.best_state = obj["state"], obj["best"]

    def fingerprint(self) -> str:
        """What must not change between a run and its continuation: the camera's bg, the base weights' source and the recipe."""
        c = asdict(self.cfg)
        keep = {k: c[k] for k in ("checkpoint", "part", "fg_dir", "seed", "batch_size", "lr", "look", "pseudo", "pseudo_frac", "pseudo_weight",
                                  "ema", "val_samples", "eval_every", "generic", "robust_choice")}  # fmt: skip
        h = hashlib.sha256(self.cam.bg.tobytes())
        h.update(repr(sorted(keep.items())).encode())
        return h.hexdigest()


def finish_reserve_s(state: dict) -> float:
    """Seconds kept for the finish of a run (:func:`write_outputs`): two held-out scores (the base and the written model),
    the real-frame check (about one more) and a final score, from the slowest timed score (``state["score_s"]``), plus
    :data:`EXPORT_RESERVE_S`, plus the size choice's scoring of the written model (:mod:`.infer_size`; timed on the base
    model at the start, ``state["size_s"]``, with half again for safety)."""
    return 4.0 * state.get("score_s", 0.0) + 1.5 * state.get("size_s", 0.0) + EXPORT_RESERVE_S


def train_loop(ad: Adapter, state_path: Path, quiet: bool, setup_s: float = 0.0) -> None:
    """Run steps until the budget, ``max_steps`` or early stopping; score and save state on the way.

    The loop's budget: ``minutes`` less ``setup_s`` (this run's set-up) and :func:`finish_reserve_s`, against the loop
    time summed over all runs with this output directory."""
    cfg, st = ad.cfg, ad.state

    def loop_budget() -> float:  # the reserve grows with the slowest score
        return max(0.0, cfg.minutes * 60.0 - setup_s - finish_reserve_s(st))

    budget = loop_budget()
    st["runs"] += 1
    bar = tqdm(total=round(budget), initial=min(round(st["elapsed_s"]), round(budget)), unit="s", desc="adapt", disable=quiet,
               dynamic_ncols=True, bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s {postfix}")  # fmt: skip
    last = time.monotonic()
    try:
        while st["done"] is None:
            budget = loop_budget()
            if st["elapsed_s"] >= budget:
                st["done"] = f"time budget of {cfg.minutes:g} min spent"
                break
            if cfg.max_steps is not None and st["step"] >= cfg.max_steps:
                break  # paused, not done: a rerun with a larger --max-steps continues
            losses = ad.step()
            if st["step"] % cfg.eval_every == 0:
                ad.score()
            now = time.monotonic()
            st["elapsed_s"] += now - last
            bar.update(min(now - last, max(0.0, budget - bar.n)))
            last = now
            bar.set_postfix_str(f"step {st['step']} loss {losses['loss']:.3f} best IoU {st['best_iou'] or float('nan'):.3f}")
            if st["step"] % cfg.eval_every == 0:
                ad.save(state_path)
    finally:
        bar.close()
    if not st["history"] or st["history"][-1]["step"] != st["step"]:
        ad.score()
    ad.save(state_path)


def _chosen(ad: Adapter, base_iou: float) -> tuple[torch.nn.Module, bool, str]:
    cfg, st = ad.cfg, ad.state
    best = st["best_iou"]
    if best is not None and ad.best_state is not None and best >= base_iou + cfg.keep_margin:
        model = make_teacher(ad.base)
        model.load_state_dict(ad.best_state)
        return model, True, f"held-out IoU {best:.4f} at step {st['best_step']} >= base {base_iou:.4f} + margin {cfg.keep_margin:g}"
    return (
        make_teacher(ad.base),
        False,
        f"held-out IoU {best if best is not None else float('nan'):.4f} < base {base_iou:.4f} + margin {cfg.keep_margin:g}: the base model is kept",
    )


def write_outputs(ad: Adapter, out: Path, base_iou: float, base_path: Path, timing: dict, t_start: float) -> dict:
    """``model.pt``, ``model.onnx`` (+ sidecar, parity-checked) and ``adapt.json`` in ``out``; returns the summary.
    ``timing`` gains ``export_s`` and ``total_s`` (seconds since ``t_start``, a :func:`time.perf_counter` value)."""
    model, kept, why = _chosen(ad, base_iou)
    model = model.cpu().eval()
    per_set = {"base": ad.val_ious(ad.base), "written_model": ad.val_ious(model.to(ad.device))}
    adapted_iou = per_set["written_model"]["mean"]
    real = ad.real_frames({"base": ad.base, "written_model": model})
    sizes = ad.size_scores(model)
    infer = choose_size(sizes) if sizes else ad.size
    model = model.cpu()
    meta = {**{k: v for k, v in ad.base_meta.items() if k != "final_val"}, "size": ad.size, "infer_size": infer,
            "adapted_from": str(base_path), "adapted": kept, "adapt_held_out_iou": round(adapted_iou, 5), "adapt_bg": ad.cam.bg_source}  # fmt: skip
    t0 = time.perf_counter()
    save_checkpoint(out / "model.pt", model, None, meta)
    side = export_model(model, out / "model.onnx", size=ad.size, source=str(out / "model.pt"), meta=meta, run_size=infer)
    timing["export_s"] = round(time.perf_counter() - t0, 2)
    summary = {
        "kept_adapted": kept,
        "why": why,
        "held_out_iou": {"base": round(base_iou, 5), "adapted_best": ad.state["best_iou"], "written_model": round(adapted_iou, 5)},
        "held_out_iou_per_set": {k: {n: round(v, 4) for n, v in d.items()} for k, d in per_set.items()},
        "real_frames": {**real, "about": "share of the held-out frames' confidently-background pixels called foreground (fp_rate) and "
                        "confidently-foreground ones called background (fn_rate), by the classical difference; reported, not used "
                        "in the choice (maskdepth/adapt/agreement.py)"},
        "held_out": f"{len(ad.val)} composites of this camera: val-split cutouts, procedural seeds >= 100000, odd frames; never the frames' "
        "masks; the criterion: " + ("the mean IoU over clean and perturbed (maskdepth/evaluate/perturb.py ROBUSTNESS)" if ad.cfg.robust_choice else "clean IoU"),
        "infer_size": {"chosen": infer, "candidates": ad.sizes, "written_model": sizes, "base": ad.base_sizes,
                       "about": f"F on {len(ad.size_set)} composites at the frames' size (maskdepth/adapt/infer_size.py: made at "
                       "2x and area-reduced, the camera's look; never the frames' masks); a larger size only if it adds >= 0.002 F; "
                       "ms_per_frame: PyTorch on this device"},
        "steps": ad.state["step"], "best_step": ad.state["best_step"], "stopped": ad.state["done"] or "max_steps reached (resumable)",
        "loop_s": round(ad.state["elapsed_s"], 1), "runs": ad.state["runs"], "timing": timing,
        "camera": ad.cam.to_json(), "history": ad.state["history"], "settings": asdict(ad.cfg),
        "base_checkpoint": str(base_path), "device": str(ad.device), "onnx_parity_max_abs_diff": side["parity"]["max_abs_diff"],
        "outputs": {"model_pt": str(out / "model.pt"), "model_onnx": str(out / "model.onnx"),
                    **({"bg": str(out / "bg.png")} if not ad.cfg.bg else {})},
    }  # fmt: skip
    timing["total_s"] = round(time.perf_counter() - t_start, 2)
    atomic_write_json(out / "adapt.json", summary)
    return summary


def _camera(cfg: AdaptConfig, out: Path, device, size: int) -> Camera:
    """The camera (:func:`.camera.load_camera`). Without ``bg`` the background is estimated with the base model as the
    judge (:mod:`.background`), except when a run with this ``out`` is continued: then its ``OUT/bg.png`` is reused (the same bg
    the state was made on)."""
    if not cfg.bg and (out / "state.pt").exists() and (out / "bg.png").exists():
        cam = load_camera(cfg.frames, cfg.video, str(out / "bg.png"), size, cfg.max_frames, full_look=cfg.max_infer_size is not None)
        cam.bg_source = f"estimated from the frames by the first run (watch's model-guided initialisation): {out / 'bg.png'}"
        return cam
    predict_prob = None
    if not cfg.bg:
        from ..inference.predictor import load_predictor

        pred = load_predictor(cfg.checkpoint, device=str(device), ort_options={"threads": cfg.threads} if cfg.threads else None)
        predict_prob = lambda bg, frame: pred.predict(bg, frame).prob  # noqa: E731
    return load_camera(cfg.frames, cfg.video, cfg.bg, size, cfg.max_frames, predict_prob, full_look=cfg.max_infer_size is not None)


def adapt(cfg: AdaptConfig, quiet: bool = False, started: float | None = None) -> dict:
    """Adapt a model to one camera (module docstring). Returns the ``adapt.json`` summary.

    ``started``: the :func:`time.perf_counter` value from which ``cfg.minutes`` counts (default: this call).

    Raises: MaskDepthError: bad settings, no or unreadable frames, an empty folder, a bg of another framing,
        a checkpoint that is not a maskdepth model, a state of another camera; nothing is written to
        ``--out`` before these checks pass.
    """
    check_config(cfg)
    t0 = time.perf_counter() if started is None else started
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    base_path = Path(cfg.checkpoint) if cfg.checkpoint else DEFAULT_CHECKPOINT
    base, ck = load_model(base_path)
    check_splittable(base, str(base_path))
    meta = ck.get("meta") or {}
    size = cfg.size or (meta.get("size") if isinstance(meta.get("size"), int) else 128)
    if size % 32 or size < 32:
        raise MaskDepthError(f"must be a positive multiple of 32, got {size}", param="size")
    device = _device(cfg.device)
    out = Path(cfg.out)
    cam = _camera(cfg, out, device, size)
    torch.manual_seed(cfg.seed)
    ad = Adapter(cfg, base, meta, cam, size, device)
    out.mkdir(parents=True, exist_ok=True)
    if not cfg.bg:
        save_png(out / "bg.png", cam.bg_full)  # the estimate: a rerun continues on it; predict and serve take it as bg
    state_path = out / "state.pt"
    if state_path.exists():
        ad.load(state_path)
    base_iou = ad.state.get("base_iou")
    if base_iou is None:
        t = time.perf_counter()
        base_iou = ad.state["base_iou"] = ad.val_iou(ad.base)
        ad.state["score_s"] = time.perf_counter() - t
    t = time.perf_counter()
    ad.base_sizes = ad.size_scores(ad.base)  # the base model at each size: reported, and the time the finish reserves
    ad.state["size_s"] = time.perf_counter() - t
    timing = {"setup_s": round(time.perf_counter() - t0, 2)}
    train_loop(ad, state_path, quiet, setup_s=time.perf_counter() - t0)
    return write_outputs(ad, out, base_iou, base_path, timing, t0)
