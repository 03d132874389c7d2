"""Video: a fixed camera's frames through the model (``maskdepth predict --video``).

``io`` (PyAV readers and writers: :func:`~maskdepth.video.io.probe`, :func:`~maskdepth.video.io.iter_frames`,
the decode and encode threads), ``temporal`` (probability/depth smoothing, flicker, a background from the
clip), ``config`` (:class:`~maskdepth.video.config.VideoConfig`) and ``convert`` (reader → the one pipeline
per frame → writer: :func:`~maskdepth.video.convert.run_video`, :func:`~maskdepth.video.convert.predict_video`).
Nothing is imported here, so ``import maskdepth.video.io`` pulls only what it needs."""
