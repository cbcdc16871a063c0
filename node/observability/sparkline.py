"""ASCII sparklines as Redis draws them for LATENCY GRAPH (sparkline.c, filled mode).

Each sample is a column: its height in ``rows`` rows of three levels each ("_", "o",
"#", and "|" below the top of a filled column), its label written downwards under the
chart after a blank line; more samples than ``columns`` continue in another block.
"""

from __future__ import annotations

CHARSET_FILL = "_o#"
LABEL_MARGIN_TOP = 1


def render(samples: list[tuple[float, str]], columns: int, rows: int) -> str:
    """sparklineRender with SPARKLINE_FILL: ``samples`` are (value, label)."""
    if not samples:
        return ""
    values = [value for value, _ in samples]
    low, high = min(values), max(values)
    blocks = []
    for start in range(0, len(samples), columns):
        blocks.append(_render_range(samples[start:start + columns], low, high, rows))
    return "\n".join(blocks)


def _render_range(samples: list[tuple[float, str]], low: float, high: float, rows: int) -> str:
    relmax = (high - low) or 1
    steps = len(CHARSET_FILL) * rows
    has_labels = any(label for _, label in samples)
    out: list[str] = []
    row = 0
    while True:
        chars = [" "] * len(samples)
        more = False
        for j, (value, label) in enumerate(samples):
            step = int(int((value - low) * steps) / relmax)
            step = min(max(step, 0), steps - 1)
            if row < rows:
                more = True
                index = step - (rows - row - 1) * len(CHARSET_FILL)
                if 0 <= index < len(CHARSET_FILL):
                    chars[j] = CHARSET_FILL[index]
                elif index >= len(CHARSET_FILL):
                    chars[j] = "|"
            else:
                if has_labels and row - rows < LABEL_MARGIN_TOP:
                    more = True
                    break
                position = row - rows - LABEL_MARGIN_TOP
                if label and len(label) > position:
                    more = True
                    chars[j] = label[position]
        if not more:
            return "".join(out)
        row += 1
        out.append("".join(chars) + "\n")
