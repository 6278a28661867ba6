"""Drawing the stages of an image's preparation: what ``nnbp predict --show`` shows.

Each stage is a uint8 (h, w) picture (see ``image.Prepared.stages``): the page as the file
shows it, the ink with the background removed, the ink mask, what was kept, and the
network's input. ``stages_text`` draws them as text for a terminal, ``stages_panel`` as
one picture, side by side, with their names under them.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from nnbp.image import to_text

PANEL_HEIGHT = 168  # pixels: each stage is drawn this high in a panel (the input 6x)
CAPTION = 16  # pixels under each stage for its name
GAP = 8  # pixels between stages


def stages_text(stages: dict[str, np.ndarray], inverted: bool = False, height: int = 28) -> str:
    """Every stage drawn with ``to_text``, its name above it, the input as it is and the
    others shrunk to at most ``height`` rows and 2 * ``height`` columns. The page is
    drawn ink high like the others (``inverted``: its ink was dark on light)."""
    parts = []
    for name, picture in stages.items():
        h, w = picture.shape
        if name == "page" and inverted:
            picture = 255 - picture
        if name != "input":
            f = min(1.0, height / h, 2 * height / w)
            size = (max(1, round(w * f)), max(1, round(h * f)))
            picture = np.asarray(Image.fromarray(picture).resize(size, Image.Resampling.BOX))
        parts.append(f"{name} ({h}x{w}):\n{to_text(picture)}")
    return "\n".join(parts)


def stages_panel(stages: dict[str, np.ndarray]) -> Image.Image:
    """The stages side by side, each PANEL_HEIGHT pixels high, named underneath (grayscale)."""
    tiles = []
    for picture in stages.values():
        h, w = picture.shape
        size = (max(1, round(w * PANEL_HEIGHT / h)), PANEL_HEIGHT)
        small = picture.shape == (28, 28) or max(h, w) < PANEL_HEIGHT
        resample = Image.Resampling.NEAREST if small else Image.Resampling.BOX
        tiles.append(Image.fromarray(picture).resize(size, resample))
    width = sum(t.width for t in tiles) + GAP * (len(tiles) + 1)
    panel = Image.new("L", (width, PANEL_HEIGHT + CAPTION + 2 * GAP), 255)
    draw = ImageDraw.Draw(panel)
    x = GAP
    for name, tile in zip(stages, tiles, strict=True):
        panel.paste(tile, (x, GAP))
        draw.text((x, GAP + PANEL_HEIGHT + 2), name, fill=0)
        x += tile.width + GAP
    return panel
