"""Shared plotting helpers: one self-contained HTML page with plotly.js embedded once."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

FONT = {"family": "Helvetica, Arial, sans-serif", "size": 12}
PANEL_HEIGHT = 420

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: Helvetica, Arial, sans-serif; margin: 24px; color: #222; }}
h1 {{ font-size: 22px; }} h2 {{ font-size: 17px; margin-top: 28px; }}
table.header {{ border-collapse: collapse; font-size: 12px; margin-bottom: 12px; }}
table.header td {{ border: 1px solid #ddd; padding: 2px 8px; }}
.plot {{ width: 100%; max-width: 1200px; }}
</style>
<script type="text/javascript">{plotlyjs}</script>
</head><body>
<h1>{title}</h1>
{header}
{sections}
<script type="text/javascript">
window.carbsLitePlots = Promise.all([{calls}]);
</script>
</body></html>
"""


def compact(figure: go.Figure) -> str:
    """Figure JSON with floats rounded to 6 significant digits (keeps large reports small)."""
    data = json.loads(figure.to_json())

    def shorten(value: Any) -> Any:
        if isinstance(value, float):
            return float(f"{value:.6g}")
        if isinstance(value, list):
            return [shorten(v) for v in value]
        if isinstance(value, dict):
            return {k: shorten(v) for k, v in value.items()}
        return value

    return json.dumps(shorten(data), separators=(",", ":"))


def header_table(rows: dict[str, str]) -> str:
    """Two-column HTML table of setting -> value."""
    cells = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>"
        for k, v in rows.items()
    )
    return f'<table class="header">{cells}</table>'


def write_page(
    path: str | Path, title: str, header_html: str, figures: list[tuple[str, go.Figure]]
) -> Path:
    """Write ``figures`` (section title, figure) as one offline HTML page; returns the path."""
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
        header=header_html,
        sections="\n".join(sections),
        calls=",\n".join(calls),
    )
    path = Path(path)
    path.write_text(page, encoding="utf-8")
    return path


def styled(figure: go.Figure, height: int = PANEL_HEIGHT) -> go.Figure:
    """Common layout: white template, readable font, legend above the plot."""
    figure.update_layout(
        template="plotly_white",
        font=FONT,
        height=height,
        margin={"l": 70, "r": 30, "t": 90, "b": 60},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.12, "x": 0},
    )
    return figure
