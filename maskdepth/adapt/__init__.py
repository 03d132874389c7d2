"""``maskdepth adapt``: fine-tune a model for one fixed camera without labels.

Modules: :mod:`.config` (the settings), :mod:`.camera` (the camera's frames, background and look),
:mod:`.data` (the per-camera composite stream and the held-out composites), :mod:`.pseudo`
(trustworthy pseudo-labels on the camera's own frames), :mod:`.run` (the loop, the keep/reject
decision and the outputs).
"""
