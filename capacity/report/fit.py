"""Wide tables on narrow terminals: one small table per row instead of a table squeezed to ribbons.

Rich fits a table to the console by wrapping every column; a ten-column table on an 80-column
terminal becomes columns four characters wide ("cere/bras/lla/ma3."), which nobody can read. A
table whose columns would each get less than :data:`NARROWEST` characters is shown *stacked*:
for each row, its first cell as a heading and the other columns as ``header: value`` lines.
"""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

NARROWEST = 8
"""The fewest characters a column may get (borders and padding aside) before the table is stacked."""


def fitted(table: Table, console: Console) -> RenderableType:
    """``table`` as it is if each column gets at least :data:`NARROWEST` characters at the
    console's width, else stacked: one two-column grid per row, headed by the row's first cell."""
    columns = table.columns
    if not columns or console.width >= len(columns) * (NARROWEST + 3) + 1:  # 3: a border and padding each
        return table
    cells = [[str(c) for c in column.cells] for column in columns]
    headers = [str(column.header) for column in columns]
    parts: list[RenderableType] = []
    if table.title:
        parts.append(Text(str(table.title), style="italic"))
    for row in range(table.row_count):
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        for header, values in zip(headers[1:], cells[1:], strict=True):
            grid.add_row(f"  {header}", values[row])
        parts.append(Group(Text(cells[0][row], style="bold"), grid))
    return Group(*parts)
