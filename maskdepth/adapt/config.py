"""The settings of ``maskdepth adapt``: one dataclass, the single source of its flags and YAML keys
(see :mod:`maskdepth.config`). Torch-free, so the command line is built without importing PyTorch."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import option


@dataclass
class AdaptConfig:
    """Settings of one adaptation (defaults: the recipe of ``results/adapt.md``).

    Each field is also the ``maskdepth adapt`` flag of the same name (``batch_size`` → ``--batch-size``)
    and the YAML key of ``--config``.
    """

    out: str = option(help="output directory: model.pt, model.onnx (+ sidecar), adapt.json; holds the state a rerun continues from")
    bg: str | None = option(
        None,
        "the camera's empty-scene photo (default: estimated from the frames by watch's model-guided initialisation, written to OUT/bg.png)",
    )
    frames: str | None = option(None, "folder of the camera's frames (unlabelled)")
    video: str | None = option(None, "a video of the camera (unlabelled), instead of --frames")
    checkpoint: str | None = option(None, "base model .pt (default: the shipped maskdepth/weights/default.pt)")
    fg_dir: str | None = option(
        None, "RGBA cutouts pasted besides the procedural people and objects (their hash split: train cutouts train, val cutouts choose)"
    )
    minutes: float = option(
        10.0, "time budget of the whole run in minutes: reading, background, training, scoring and export (a rerun continues the loop)"
    )
    seed: int = option(0, "seed of the composites, the pseudo-label frames and the sample order")
    size: int | None = option(None, "network short side of training (default: the base model's training size)")
    max_infer_size: int | None = option(
        None,
        "let adapt choose the short side the written model runs at, up to this (e.g. 320): the training size, the frames' own short "
        "side and one between, on held-out composites at the frames' resolution (default: off, the training size; on synthetic "
        "cameras it helped, on the real clips it did not: results/adapt_size.md, results/adapt.infer_size.md)",
    )
    batch_size: int = option(8, "composites per step")
    lr: float = option(1e-3, "AdamW learning rate (constant after a 10-step warm-up)")
    part: str = option(
        "heads",
        "what trains: heads (mask head + refiner; depth untouched) or decoder (+ the decoder; 3x slower)",
        choices=("heads", "decoder"),
    )
    max_frames: int = option(300, "read at most this many frames, evenly spaced")
    look: bool = option(
        True, "the camera's look on the composites: its exposure spread, noise, JPEG level and its own frames as backgrounds"
    )
    generic: bool = option(True, "the generator's exposure, 2-px shift, JPEG and noise changes on every training sample (keeps robustness)")
    robust_choice: bool = option(
        True, "choose on the mean held-out IoU over the clean composites and the evaluation's perturbations (maskdepth/evaluate/perturb.py)"
    )
    pseudo: bool = option(True, "pseudo-labels on the camera's frames where the EMA teacher and the classical difference agree")
    pseudo_frac: float = option(0.25, "share of each batch taken by camera frames with pseudo-labels (at most 0.5)")
    pseudo_weight: float = option(0.5, "weight of the pseudo-label loss relative to the composites' (at most 1)")
    ema: float = option(0.99, "EMA decay of the mean teacher (Tarvainen & Valpola 2017)")
    val_samples: int = option(64, "held-out composites (val-split cutouts and procedural seeds never trained on) for the choice")
    eval_every: int = option(25, "score the held-out composites every N steps (early stopping, checkpoint)")
    patience: int | None = option(
        None,
        "stop after this many held-out scores without improvement (default: no early stopping: the whole budget is spent "
        "and the best score chooses; results/adapt_synthetic.md)",
    )
    keep_margin: float = option(0.005, "keep the adapted model only if its held-out IoU beats the base model's by this much")
    max_steps: int | None = option(None, "stop after N steps in total (tests; the time budget still applies)")
    device: str = option("auto", "auto (CUDA when present, else CPU), cpu, cuda")
    threads: int | None = option(None, "torch CPU threads (default: torch's choice)")
