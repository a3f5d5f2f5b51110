"""Training, evaluation and export of the skin-segmentation UNet (optional extra ``[train]``).

Run ``python -m skinsmooth_core.training {train,evaluate,export} --help``. Needs
``pip install skinsmooth[train]`` (tensorflow-cpu and keras); the shipped
predictor in :mod:`skinsmooth_core.masks.segmenter` does not.
"""
