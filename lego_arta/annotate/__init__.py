"""Image algorithms that annotate raw manuals: part grounding, boundary colours, negatives, collages.

They read pixels only (never a synthetic manual's truth, except the ``truth`` grounder), so they
run on crawled manuals as well as on synthetic ones.
"""
