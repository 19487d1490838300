"""Order-aware probing of frozen vision backbones, after STEP (Self-attentive Temporal Embedding Probing).

``backbone.py`` loads any transformers vision model frozen; ``cache.py`` keeps its tokens per image
on disk (safetensors); ``heads.py`` holds the linear, attentive and STEP probes; ``items.py`` reads
the probe tasks (state, order) from a built dataset; ``train.py`` trains and predicts;
``run.py`` is one run (``results.json``); ``command.py`` is ``lego-arta probe``. See docs/probe.md.
"""
