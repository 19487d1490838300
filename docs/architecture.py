"""Draw the layer diagram of lego-arta as ``docs/architecture.png`` (see ``docs/architecture.md``).

Deterministic: Agg backend, fixed figure size and DPI, bundled DejaVu fonts, no timestamp or
software tag in the PNG, so a rerun writes identical bytes. Run from anywhere::

    python docs/architecture.py            # writes docs/architecture.png next to this file
    python docs/architecture.py OUT.png    # or somewhere else
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

WIDTH, HEIGHT, DPI = 13.0, 11.2, 100  # inches; 1300 x 1120 px

plt.rcParams.update(
    {
        "font.family": "DejaVu Sans",
        "font.monospace": ["DejaVu Sans Mono"],
        "svg.hashsalt": "lego-arta",
        "path.simplify": False,
    }
)

# Layers stacked along the data path, bottom (first) to top (last):
# (name, folders, role, fill colour, (x0, y0, x1, y1)) in inches.
MAIN_X0, MAIN_X1 = 1.05, 9.05
LAYERS = [
    (
        "source",
        "lego_arta/source/",
        "synth/ generator  ·  crawl.py  ·  layout.py (the raw manual file layout)",
        "#dbeafe",
        (MAIN_X0, 2.95, MAIN_X1, 3.85),
    ),
    (
        "parse",
        "lego_arta/parse/",
        "page.py  ·  manual.py (typed manuals)  ·  records.py  ·  statistics.py",
        "#dcfce7",
        (MAIN_X0, 4.25, MAIN_X1, 5.15),
    ),
    (
        "annotate",
        "lego_arta/annotate/",
        "grounding (truth | opencv | transformers)  ·  boundary colour vote  ·  negatives  ·  collages",
        "#fef9c3",
        (MAIN_X0, 5.55, MAIN_X1, 6.45),
    ),
    (
        "dataset",
        "lego_arta/dataset/",
        "pairs.py (runs each TaskSpec's pair maker)  ·  splits  ·  export (Parquet, LLaVA)\n"
        "card  ·  layout.py (built folder names)  ·  pipeline  ·  push  ·  recipe",
        "#ffedd5",
        (MAIN_X0, 6.85, MAIN_X1, 8.05),
    ),
]
TOP = [
    (
        "evaluation · harness · models · qa · probe",
        "lego_arta/{evaluation,harness,…,probe}/",
        "evaluation/  score · baselines · report\nharness/  lmms-eval runner + task hooks\nmodels/  tiny_vlm.py  ·  qa/  ratings  ·  probe/  STEP probes",
        "#fce7f3",
        (MAIN_X0, 8.45, 5.75, 9.95),
    ),
    ("finetune", "lego_arta/finetune/", "LoRA with peft + accelerate\nmerge is its own step", "#ede9fe", (6.05, 8.45, MAIN_X1, 9.95)),
]
ADAPTERS = [
    ("lego_arta/cli.py", "the lego-arta command"),
    ("lego_arta.py", "datasets loading script"),
    ("eval_tasks/lego_arta/", "lmms-eval task YAMLs, generated\nfrom the task specs by\n_generate_configs.py (committed)"),
    ("lego_arta/evaluate_modules/", "evaluate metric modules"),
    ("builders/*.yaml", "build recipes (source,\ngrounder, seeds)"),
]
ADAPTER_BOX = (9.75, 2.95, 12.75, 9.95)
FOUNDATION = (0.25, 0.2, 12.75, 2.55)
BOTTOM = [
    ("atomic.py", "atomic writes"),
    ("checksum.py", "sha256 helper"),
    ("boxes.py", "0–100 frame and pixel boxes,\nunion_box"),
    ("palette.py", "LEGO colour palette\n(generator + annotate)"),
    ("answers.py", "answer parsers"),
    ("metrics/", "functional metrics, bootstrap,\nregister_metric"),
    ("tasks/", "scene · object · state: a TaskSpec each;\nTASKS (+ $LEGO_ARTA_TASK_MODULES)"),
    ("study.py", "the study's published\nnumbers"),
]

EDGE = "#334155"
ARROW = "#1e293b"
MONO = "DejaVu Sans Mono"


def box(ax, x0, y0, x1, y1, fill, *, lw=1.2, radius=0.08, edge=EDGE, zorder=1):
    ax.add_patch(
        FancyBboxPatch(
            (x0, y0),
            x1 - x0,
            y1 - y0,
            boxstyle=f"round,pad=0,rounding_size={radius}",
            facecolor=fill,
            edgecolor=edge,
            linewidth=lw,
            zorder=zorder,
        )
    )


def arrow(ax, start, end, *, lw=1.6, color=ARROW, style="-|>", scale=16, zorder=3):
    ax.add_patch(
        FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=scale, linewidth=lw, color=color, shrinkA=0, shrinkB=0, zorder=zorder)
    )


def layer(ax, name, folder, role, fill, rect, *, folder_below=False):
    x0, y0, x1, y1 = rect
    box(ax, x0, y0, x1, y1, fill)
    ax.text(x0 + 0.15, y1 - 0.14, name, ha="left", va="top", fontsize=13, fontweight="bold", color="#0f172a")
    if folder_below:  # narrow box: the folder gets its own line under the name
        ax.text(x0 + 0.15, y1 - 0.46, folder, ha="left", va="top", fontsize=10.5, family=MONO, color="#334155")
    else:
        ax.text(x1 - 0.15, y1 - 0.16, folder, ha="right", va="top", fontsize=10.5, family=MONO, color="#334155")
    ax.text(x0 + 0.15, y1 - (0.80 if folder_below else 0.50), role, ha="left", va="top", fontsize=10.5, color="#1f2937", linespacing=1.35)


def draw(out: Path) -> None:
    fig = plt.figure(figsize=(WIDTH, HEIGHT), dpi=DPI)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, WIDTH)
    ax.set_ylim(0, HEIGHT)
    ax.set_axis_off()

    ax.text(0.25, HEIGHT - 0.22, "lego-arta: layers of the package", ha="left", va="top", fontsize=16, fontweight="bold", color="#0f172a")
    ax.text(
        0.25,
        HEIGHT - 0.62,
        "Arrow A \u2192 B: A may import B. Each layer imports only its own layer or lower ones, never a higher one.\n"
        "Data flow upward: raw manuals \u2192 typed manuals \u2192 annotated pairs \u2192 built dataset \u2192 scores / adapters.",
        ha="left",
        va="top",
        fontsize=10.5,
        color="#334155",
        linespacing=1.4,
    )

    # Foundation band: the bottom layer, imported by all, importing nothing above it.
    fx0, fy0, fx1, fy1 = FOUNDATION
    box(ax, fx0, fy0, fx1, fy1, "#e2e8f0", lw=1.6, radius=0.1)
    ax.text(fx0 + 0.15, fy1 - 0.12, "bottom layer", ha="left", va="top", fontsize=13, fontweight="bold", color="#0f172a")
    ax.text(
        fx0 + 1.75,
        fy1 - 0.14,
        "imported by every layer, imports nothing above it (prompts live with the tasks)",
        ha="left",
        va="top",
        fontsize=10.5,
        color="#334155",
    )
    ax.text(fx1 - 0.15, fy1 - 0.14, "lego_arta/", ha="right", va="top", fontsize=10.5, family=MONO, color="#334155")
    cols, gap = 4, 0.15
    cell_w = (fx1 - fx0 - 0.3 - gap * (cols - 1)) / cols
    cell_h = 0.78
    for i, (name, role) in enumerate(BOTTOM):
        r, c = divmod(i, cols)
        cx0 = fx0 + 0.15 + c * (cell_w + gap)
        cy1 = fy1 - 0.55 - r * (cell_h + 0.12)
        box(ax, cx0, cy1 - cell_h, cx0 + cell_w, cy1, "#f8fafc", lw=1.0, radius=0.06, zorder=2)
        ax.text(cx0 + 0.1, cy1 - 0.1, name, ha="left", va="top", fontsize=10.5, family=MONO, fontweight="bold", color="#0f172a", zorder=4)
        ax.text(cx0 + 0.1, cy1 - 0.34, role, ha="left", va="top", fontsize=9.5, color="#1f2937", linespacing=1.25, zorder=4)

    # Main column: the layers along the data path.
    for spec in LAYERS:
        layer(ax, *spec)
    for spec in TOP:
        layer(ax, *spec, folder_below=True)

    # Import arrows: each layer onto the one below (and so, transitively, onto any lower one).
    cx = (MAIN_X0 + MAIN_X1) / 2
    stack = [FOUNDATION] + [rect for *_, rect in LAYERS]
    for lower, upper in zip(stack, stack[1:]):
        arrow(ax, (cx, upper[1]), (cx, lower[3]))
    dataset_top = LAYERS[-1][4][3]
    for *_, (x0, y0, x1, _) in TOP:
        mid = (x0 + x1) / 2
        arrow(ax, (mid, y0), (mid, dataset_top))
    ax.text(cx + 0.12, (stack[1][1] + FOUNDATION[3]) / 2, "imports", ha="left", va="center", fontsize=9.5, style="italic", color="#334155")

    # Data path: a wide band on the left, pointing up.
    ax.add_patch(
        FancyArrowPatch(
            (0.55, 2.95),
            (0.55, 10.0),
            arrowstyle="simple,head_width=1.6,head_length=1.0,tail_width=0.9",
            mutation_scale=22,
            facecolor="#cbd5e1",
            edgecolor="#94a3b8",
            linewidth=1.0,
            zorder=1,
        )
    )
    ax.text(0.55, 6.4, "data path", rotation=90, ha="center", va="center", fontsize=11, fontweight="bold", color="#334155")

    # Adapters: on the side, above everything, imported by nothing in the package.
    ax0, ay0, ax1, ay1 = ADAPTER_BOX
    box(ax, ax0, ay0, ax1, ay1, "#f1f5f9", lw=1.4, edge="#475569")
    ax.text(ax0 + 0.15, ay1 - 0.14, "adapters", ha="left", va="top", fontsize=13, fontweight="bold", color="#0f172a")
    ax.text(
        ax0 + 0.15,
        ay1 - 0.50,
        "thin entry points; may import\nany layer, nothing imports them",
        ha="left",
        va="top",
        fontsize=10,
        color="#334155",
        linespacing=1.3,
    )
    y = ay1 - 1.30
    for name, role in ADAPTERS:
        lines = role.count("\n") + 1
        h = 0.42 + 0.2 * lines
        box(ax, ax0 + 0.12, y - h, ax1 - 0.12, y, "#ffffff", lw=0.9, radius=0.05, zorder=2)
        ax.text(ax0 + 0.22, y - 0.08, name, ha="left", va="top", fontsize=10, family=MONO, fontweight="bold", color="#0f172a", zorder=4)
        ax.text(ax0 + 0.22, y - 0.32, role, ha="left", va="top", fontsize=9.5, color="#1f2937", linespacing=1.25, zorder=4)
        y -= h + 0.12
    # They reach into every layer of the main column and the bottom layer.
    targets = [rect for *_, rect in LAYERS] + [TOP[1][4]]
    for x0, y0, x1, y1 in targets:
        mid_y = (y0 + y1) / 2
        arrow(ax, (ax0, mid_y), (MAIN_X1, mid_y), lw=1.2, scale=13, color="#64748b")
    arrow(ax, ((ax0 + ax1) / 2, ay0), ((ax0 + ax1) / 2, FOUNDATION[3]), lw=1.2, scale=13, color="#64748b")

    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=DPI, format="png", metadata={"Software": None})
    plt.close(fig)


if __name__ == "__main__":
    draw(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("architecture.png"))
