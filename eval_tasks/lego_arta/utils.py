"""lmms-eval hooks for the LEGO-ARTA tasks: names only, the logic is in ``lego_arta.harness.task_docs``.

lmms-eval executes this file as a fresh top-level module ``utils`` for every ``!function`` tag,
so it holds no state and uses absolute imports only.
"""

from lego_arta.harness.task_docs import (  # noqa: F401  (re-exported for the YAML files)
    aggregate_bleu,
    aggregate_e_acc,
    aggregate_f1,
    aggregate_fpr,
    aggregate_invalid_rate,
    aggregate_iou,
    aggregate_rouge1,
    aggregate_t_acc,
    aggregate_tnr,
    aggregate_valid_box_rate,
    dataset_path,
    doc_to_messages,
    doc_to_text,
    doc_to_visual,
    process_object_results,
    process_scene_results,
    process_state_results,
)

#: Read when lmms-eval loads the YAML: ``$LEGO_ARTA_DATA`` or the Hub id.
DATASET_PATH = dataset_path()
