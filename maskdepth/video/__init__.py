"""Video: a fixed camera's frames through the model (``convert``: reader → pipeline → writers).
Nothing is imported here, so ``import maskdepth.video.convert`` pulls only what it needs."""
