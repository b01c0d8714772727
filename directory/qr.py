"""QR codes for printed pages (the shortlist, the client's slip): an inline
SVG drawn by segno, dark on white with its quiet zone, sized in millimetres
so that every module prints at half a millimetre whatever the link's length.
Attributes only, no style: the Content-Security-Policy forbids inline styles."""

from __future__ import annotations

import math

import segno
from markupsafe import Markup, escape

MODULE_MM = 0.5  # a module's side on paper, at least: large enough for any phone camera
MIN_SIZE_MM = 25  # a short link's code is drawn with larger modules, up to this size
QUIET_ZONE = 4  # modules of white around the symbol, as the standard asks


def qr_svg(url: str, label: str, css_class: str = "qr-code") -> Markup:
    """An <svg> (no XML declaration) that encodes `url`, named by `label`
    for screen readers (role="img", aria-label and <title>)."""
    code = segno.make(url, error="m", micro=False)
    modules = code.symbol_size(scale=1, border=QUIET_ZONE)[0]
    # Quarter millimetres: binary fractions, so segno's sums come out exact.
    module_mm = max(MODULE_MM, math.ceil(MIN_SIZE_MM / modules * 4) / 4)
    svg = code.svg_inline(
        scale=module_mm, unit="mm", border=QUIET_ZONE, dark="#000", light="#fff",
        svgclass=css_class, lineclass=None, title=label,
    )
    # Crisp module edges on screen, where a module is a few pixels wide.
    return Markup(svg.replace(
        "<svg ", f'<svg role="img" aria-label="{escape(label)}" shape-rendering="crispEdges" ', 1
    ))
