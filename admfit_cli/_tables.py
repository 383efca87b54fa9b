"""The mAP table both apps print: a rich table on a terminal, plain aligned text otherwise.

Piped or redirected output (a log file, ``| grep``) must keep every class name and number whole, so it
never goes through rich's width-bound layout there. Every number carries its unit: tIoU thresholds and
mAP in percent (``--json`` keeps the [0, 1] scale and says so in its help).
"""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from admfit.evaluation import DetectionResult


def _percent(value: float) -> str:
    return f"{100 * value:.2f}"


def _tiou_heading(tiou: float) -> str:
    return f"{100 * tiou:g}"  # 0.1 -> "10", 0.55 -> "55", 0.725 -> "72.5"


def map_rows(result: DetectionResult, per_class: bool) -> tuple[list[str], list[list[str]]]:
    """(header, rows): the header names the thresholds (tIoU in %), the rows hold mAP in %: the mean over
    classes first, then (``per_class``) one row of AP per class, each ending with its average over thresholds."""
    header = ["tIoU (%)", *map(_tiou_heading, result.tious), "Avg"]
    rows = [["mAP (%)", *map(_percent, result.map), _percent(result.average)]]
    if per_class:
        rows += [[f"AP (%) {name}", *map(_percent, result.ap[:, c]), _percent(float(result.ap[:, c].mean()))]
                 for c, name in enumerate(result.classes)]
    return header, rows


def plain_table(header: list[str], rows: list[list[str]]) -> str:
    """Aligned columns, two spaces apart, widths from the content: nothing is cut or wrapped."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [[cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)]
             for row in [header, *rows]]
    return "\n".join("  ".join(line).rstrip() for line in lines)


def print_map_table(result: DetectionResult, title: str, per_class: bool = False) -> None:
    """Print the title and the table to stdout: rich's box layout on a terminal, ``plain_table`` otherwise."""
    header, rows = map_rows(result, per_class)
    if not sys.stdout.isatty():
        typer.echo(f"{title}\n{plain_table(header, rows)}")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    table.add_column(header[0], overflow="fold")
    for cell in header[1:]:
        table.add_column(cell, justify="right", no_wrap=True)
    table.add_row(*rows[0])
    if per_class:
        table.add_section()
        for row in rows[1:]:
            table.add_row(row[0].removeprefix("AP (%) "), *row[1:])
    Console().print(table)


def table1_line(result: DetectionResult) -> str | None:
    """For threshold sets the paper's Table 1 shows in part (ActivityNet's 0.5:0.95): its columns and the
    average on one line, in %; None for a set shown in full (THUMOS'14's)."""
    from admfit.evaluation import table_columns

    columns = table_columns(result.tious)
    if len(columns) == len(result.tious):
        return None
    at = dict(zip((round(float(t), 10) for t in result.tious), result.map))
    cells = [f"mAP@{_tiou_heading(t)}% {_percent(at[t])}" for t in columns]
    span = f"{_tiou_heading(min(result.tious))}:{_tiou_heading(max(result.tious))}%"
    return f"Table 1 (mAP in %): {', '.join(cells)}, AVG ({span}) {_percent(result.average)}"
