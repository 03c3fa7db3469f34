"""Shared plotting helpers: one self-contained HTML page with plotly.js embedded once.

Every string from a study reaches the page escaped: text through ``html.escape``, figures as
JSON whose ``<``, ``>`` and ``&`` are written as ``\\u003c``-style escapes, so that no study
can close the ``<script>`` element that holds it (OWASP's rule for JSON inside a script).
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from carbs_lite.state import study_file_format, write_bytes_atomically

FONT = {"family": "Helvetica, Arial, sans-serif", "size": 12}
PANEL_HEIGHT = 420
LEGEND_BELOW = {"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0, "xanchor": "left"}
"""A legend under the plot, clear of the toolbar that plotly draws above its top right and
of a colour bar on its right."""

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: Helvetica, Arial, sans-serif; margin: 24px; color: #222; }}
h1 {{ font-size: 22px; }} h2 {{ font-size: 17px; margin-top: 28px; }}
.summary {{ max-width: 1000px; font-size: 14px; line-height: 1.45; }}
.summary li {{ margin-bottom: 4px; }}
table.header {{ border-collapse: collapse; font-size: 12px; margin: 8px 0 12px; }}
table.header td {{ border: 1px solid #ddd; padding: 2px 8px; }}
table.verdicts {{ border-collapse: collapse; font-size: 13px; margin: 8px 0 12px; }}
table.verdicts td, table.verdicts th {{ border: 1px solid #ddd; padding: 2px 8px; }}
details {{ margin-top: 32px; font-size: 13px; }}
.plot {{ width: 100%; max-width: 1200px; }}
</style>
<script type="text/javascript">{plotlyjs}</script>
</head><body>
<h1>{title}</h1>
{intro}
{sections}
{settings}
<script type="text/javascript">
window.carbsLitePlots = Promise.all([{calls}]);
</script>
</body></html>
"""

_SCRIPT_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}
_SCRIPT_ESCAPES |= {"\u2028": "\\u2028", "\u2029": "\\u2029"}


def script_json(data: Any) -> str:
    """JSON text that is safe inside ``<script>``: the same value, no ``</script>`` possible."""
    text = json.dumps(data, separators=(",", ":"))
    for raw, escaped in _SCRIPT_ESCAPES.items():
        text = text.replace(raw, escaped)
    return text


def compact(figure: go.Figure) -> str:
    """Figure JSON with floats rounded to 6 significant digits (keeps large reports small),
    escaped for a script element (``script_json``)."""
    data = json.loads(figure.to_json())

    def shorten(value: Any) -> Any:
        if isinstance(value, float):
            return float(f"{value:.6g}")
        if isinstance(value, list):
            return [shorten(v) for v in value]
        if isinstance(value, dict):
            return {k: shorten(v) for k, v in value.items()}
        return value

    return script_json(shorten(data))


def header_table(rows: dict[str, str]) -> str:
    """Two-column HTML table of setting -> value."""
    cells = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>"
        for k, v in rows.items()
    )
    return f'<table class="header">{cells}</table>'


def settings_block(rows: dict[str, str], label: str = "Settings") -> str:
    """``header_table`` inside a collapsed ``<details>`` element."""
    return f"<details><summary>{html.escape(label)}</summary>{header_table(rows)}</details>"


def paragraphs(lines: list[str]) -> str:
    """Plain-text lines as an escaped bullet list for the top of a page."""
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    return f'<ul class="summary">{items}</ul>'


def write_page(
    path: str | Path,
    title: str,
    figures: list[tuple[str, go.Figure]],
    intro_html: str = "",
    settings_html: str = "",
) -> Path:
    """Write ``intro_html``, the ``figures`` (section title, figure) and ``settings_html`` as
    one offline page, atomically (temp file + rename); returns the path. ValueError if
    ``path`` holds a study (``state.study_file_format``): a report never replaces one."""
    if study_file_format(path) is not None:
        raise ValueError(f"{path} holds a carbs_lite study; write the report to another path")
    sections, calls = [], []
    for index, (section, figure) in enumerate(figures):
        sections.append(f'<h2>{html.escape(section)}</h2><div id="plot{index}" class="plot"></div>')
        calls.append(
            f"(function(f){{return Plotly.newPlot('plot{index}', f.data, f.layout, "
            f"{{responsive: true, displaylogo: false}});}})({compact(figure)})"
        )
    page = _PAGE.format(
        title=html.escape(title),
        plotlyjs=get_plotlyjs(),
        intro=intro_html,
        sections="\n".join(sections),
        settings=settings_html,
        calls=",\n".join(calls),
    )
    path = Path(path)
    write_bytes_atomically(page.encode("utf-8"), path)
    return path


def styled(figure: go.Figure, height: int = PANEL_HEIGHT) -> go.Figure:
    """Common layout: white template, readable font, legend under the plot, and room above
    subplot titles for the toolbar plotly draws over the top right corner."""
    top = 75 if figure.layout.annotations else 40
    figure.update_layout(
        template="plotly_white",
        font=FONT,
        height=height,
        margin={"l": 70, "r": 30, "t": top, "b": 110},
        legend=LEGEND_BELOW,
    )
    return figure
