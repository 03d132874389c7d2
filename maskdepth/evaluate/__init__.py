"""Evaluation: ``metrics`` (IoU, Dice, boundary F, AbsRel, RMSE, delta1, SSIM, bootstrap intervals),
``baselines`` (classical background subtraction), ``perturb`` (exposure, shift, JPEG, noise),
``run`` (a model and the baselines on composites, real pairs and RGB-D), ``markdown`` and ``report``
(the pages). Nothing is imported here, so ``maskdepth.evaluate.metrics`` stays light for training.
"""
