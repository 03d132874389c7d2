"""Training: ``config`` (``TrainConfig``, options declared once), ``losses`` (mask and depth losses),
``loop`` (the multi-task training loop, resumable). Nothing is imported here."""
