"""The dataset layer: parsed, annotated manuals → pairs per task → the Hub-layout folder.

``pairs`` makes each task's rows for one manual (through the task specs in :mod:`lego_arta.tasks`),
``splits`` groups manuals into train/test, ``export`` and ``card`` write the Parquet shards, the
LLaVA conversations and the dataset card, ``pipeline`` runs a recipe end to end, ``push`` uploads.
"""
