"""LoRA fine-tuning of any Hub image-text-to-text model on LEGO-ARTA, and merging adapters for evaluation.

``data`` turns built LLaVA conversations into prompt-masked batches, ``augment`` is the hook for
training-time text rewrites, ``vlm`` loads a model and its processor, ``lora`` places the adapter,
``train`` runs the Accelerate loop (with ``training_log`` and ``fingerprint`` for its records),
``merge`` folds an adapter into its base for the harness, and ``command`` is the CLI adapter.
Heavy libraries (torch, transformers, peft, accelerate) load only when a function needs them.
"""
