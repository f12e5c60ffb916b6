"""How a heatmap cell shows its value on a terminal: high scores strong, low ones faint.

On the dashboard's dark background a strong cell is a bright one, so the scale runs from
a blue close to the background (the lowest number) to a bright blue (the highest); the
paper's light-to-dark scale (``compt.export``, for white pages) read the other way round
here. A shading character beside each number repeats the shade, so the picture survives
NO_COLOR, and a legend row says which end is which.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from compt import export
from compt.heatmap import Matrix

FAINT, STRONG = (28, 38, 58), (110, 180, 255)  # rgb: lowest and highest number
GLYPHS = "·░▒▓█"  # lowest .. highest fifth of the range


def rgb(shade: float) -> tuple[int, int, int]:
    red, green, blue = (round(lo + (hi - lo) * shade) for lo, hi in zip(FAINT, STRONG,
                                                                        strict=True))
    return red, green, blue


def style(shade: float | None) -> Style:
    """The background for ``shade`` (0..1) with text that stays legible on it."""
    if shade is None:
        return Style()
    return Style(bgcolor=f"rgb{rgb(shade)}", color="black" if shade > 0.6 else "white")


def glyph(shade: float | None) -> str:
    return " " if shade is None else GLYPHS[min(len(GLYPHS) - 1, int(shade * len(GLYPHS)))]


def cell(matrix: Matrix, value: float | None, column: str) -> Text:
    """A number with its shade (a coloured matrix) or the number alone."""
    text = export.number(value, matrix.digits_for(column))
    if not matrix.coloured:
        return Text(f" {text} ")
    shade = matrix.shade(value)
    return Text(f" {text} {glyph(shade)} ", style=style(shade))


def legend(matrix: Matrix) -> Text | None:
    """``low 50.0 ·░▒▓█ 67.0 high``, each character on its own shade; None if uncoloured."""
    numbers = [v for row in matrix.body for v in row if v is not None]
    if not matrix.coloured or not numbers:
        return None
    digits = matrix.digits
    out = Text(f"shade: low {export.number(min(numbers), digits)} ")
    for i, char in enumerate(GLYPHS):
        out.append(f" {char} ", style=style((i + 0.5) / len(GLYPHS)))
    out.append(f" {export.number(max(numbers), digits)} high")
    return out
