"""Tiny-code: generated Python function tasks (tasks.py), a disjoint prompt pool and a tiny code
model pretrained on them (pretrain.py, weights shipped in weights/), so SSD runs on real code
on a laptop: `python train.py experiment=tinycode`.
"""
