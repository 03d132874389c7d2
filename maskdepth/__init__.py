"""maskdepth: foreground mask and depth from a background photo and a photo of the same scene.

Pipeline (one module each): ``data`` (composite, render, generate, dataset) →
``model`` → ``train`` → ``evaluate`` → ``predict``.
"""
__version__ = "0.1.0"
