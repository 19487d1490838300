"""Write a synthetic manual as the site serves a screen-reader page, so one parser reads both sources."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from lego_arta.source.layout import image_url_path
from lego_arta.source.synth.model import ManualPlan, Segment

#: A page row as written: the decoded image file name and the tagged text lines beside it.
RowSpec = tuple[str, Sequence[Sequence[Segment]]]


def _line_html(segments: Sequence[Segment]) -> str:
    body = "".join(escape(text) if cls is None else f'<span class="{cls}">{escape(text)}</span>' for cls, text in segments)
    return body.replace("\n", "<br>")


def _row_html(set_number: str, file_name: str, lines: Sequence[Sequence[Segment]], alt: str) -> str:
    boxes = "\n".join(f'        <div class="txtbox">{_line_html(line)}</div>' for line in lines)
    return (
        '    <div class="row">\n'
        f'      <div class="image"><img src="{escape(image_url_path(set_number, file_name))}" alt="{escape(alt)}"></div>\n'
        f'      <div class="text">\n{boxes}\n      </div>\n'
        "    </div>"
    )


def page_html(plan: ManualPlan, rows: Sequence[RowSpec]) -> str:
    """The full HTML of a manual page, structured like the real site's screen-reader pages."""
    title = f"LEGO Audio &amp; Braille Building Instructions – {escape(plan.set_name)}"
    body = "\n".join(_row_html(plan.set_number, name, lines, alt=f"Step image {index}") for index, (name, lines) in enumerate(rows))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n</head>\n"
        '<body class="page-template-readscr">\n'
        '<header class="site-header"><a class="logo" href="/">LEGO Audio &amp; Braille Building Instructions</a></header>\n'
        '<main id="main">\n'
        f"  <h1>{escape(plan.set_name)} ({escape(plan.set_number)})</h1>\n"
        '  <div class="manual-table-container">\n'
        f"{body}\n"
        "  </div>\n</main>\n</body>\n</html>\n"
    )
