"""How lmms-eval finds lego-arta's own models: the ``lmms_eval.models`` entry point of setup.cfg.

lmms-eval 0.7.3 reads ``LMMS_EVAL_PLUGINS`` in a way that no longer works, but its model registry
loads every ``lmms_eval.models`` entry point when ``lmms_eval.models`` is imported. This module
stays light (it names the class by its dotted path; lmms-eval imports it only when asked for),
because every lmms-eval process in an environment with lego-arta installed reads it.

>>> [m.model_id for m in manifests()]
['lego_arta_openai', 'lego_arta_hf']
"""

from __future__ import annotations

from lmms_eval.models.registry_v2 import ModelManifest

#: lmms-eval model name → the chat model class (OpenAI-compatible endpoints).
CHAT_MODELS = {"lego_arta_openai": "lego_arta.harness.served_model.LegoArtaOpenAI"}
#: lmms-eval model name → the simple model class (in-process Hugging Face models).
SIMPLE_MODELS = {"lego_arta_hf": "lego_arta.harness.hf_model.LegoArtaHf"}


def manifests() -> list[ModelManifest]:
    """The entry point's payload: one manifest per lego-arta model."""
    chat = [ModelManifest(model_id=name, chat_class_path=path) for name, path in CHAT_MODELS.items()]
    return chat + [ModelManifest(model_id=name, simple_class_path=path) for name, path in SIMPLE_MODELS.items()]
