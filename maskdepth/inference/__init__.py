"""Inference: a model on (bg, fg_bg) pairs at the user's resolution.

``runtime`` (ONNX Runtime sessions and sidecars) → ``predictor`` (the network on one pair, mask
refinement by ``refine``) → ``pipeline`` (one frame to a ``FrameResult``: mask, prob, objects, depth
composed lazily) → ``outputs`` (the output schemas) and ``files`` (pairs and folders on disk).
Nothing is imported here, so importing one module stays light.
"""
