"""Model names and input constants, importable without PyTorch (the command line uses them).

The architectures behind the names are built by :func:`maskdepth.model.create_model`.
"""

MODEL_PRESETS: tuple[str, ...] = ("small", "tiny", "peer_b", "peer_c")  # names accepted by create_model
DEFAULT_PRESET = "small"
FUSIONS: tuple[str, ...] = ("concat", "diff")  # input fusion of the U-Net presets (small, tiny)
INPUT_MULTIPLE = 32  # network input sides must be multiples of this (the encoder's total stride)
