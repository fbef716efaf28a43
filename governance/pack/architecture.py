"""The architecture diagram, generated from the package layout: one box per top-level package
(with its module count) and an arrow for each package that imports another."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGES = ("cds", "rag", "governance", "audit")


def package_graph(root: Path) -> dict:
    """{"modules": {pkg: n}, "imports": sorted [(from, to)]} from the source tree."""
    modules, edges = {}, set()
    for pkg in PACKAGES:
        files = [f for f in (root / pkg).rglob("*.py") if "__pycache__" not in f.parts]
        modules[pkg] = len(files)
        for f in files:
            for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                for name in names:
                    top = name.split(".")[0]
                    if top in PACKAGES and top != pkg:
                        edges.add((pkg, top))
    return {"modules": modules, "imports": sorted(edges)}


def drawing(graph: dict, width: float):
    from reportlab.graphics.shapes import Drawing, Line, Polygon, Rect, String
    from reportlab.lib import colors

    height = 150
    d = Drawing(width, height)
    pos = {"cds": (width * 0.08, 90), "rag": (width * 0.55, 90),
           "governance": (width * 0.08, 10), "audit": (width * 0.55, 10)}
    bw, bh = width * 0.3, 40
    for pkg, (x, y) in pos.items():
        d.add(Rect(x, y, bw, bh, fillColor=colors.HexColor("#DDE3EA"), strokeColor=colors.grey))
        d.add(String(x + 6, y + 24, pkg, fontSize=10, fontName="Helvetica-Bold"))
        d.add(String(x + 6, y + 9, f"{graph['modules'][pkg]} modules", fontSize=8))
    for a, b in graph["imports"]:
        (xa, ya), (xb, yb) = pos[a], pos[b]
        x1, y1 = xa + bw / 2, ya + bh / 2
        x2, y2 = xb + bw / 2, yb + bh / 2
        # from edge to edge; offset so that a<->b pairs do not overlap
        off = 5 if a < b else -5
        x1, y1, x2, y2 = x1 + off, y1 + off, x2 + off, y2 + off
        if abs(x2 - x1) > abs(y2 - y1):
            sign = 1 if x2 > x1 else -1
            x1, x2 = x1 + sign * bw / 2, x2 - sign * bw / 2
        else:
            sign = 1 if y2 > y1 else -1
            y1, y2 = y1 + sign * bh / 2, y2 - sign * bh / 2
        d.add(Line(x1, y1, x2, y2, strokeColor=colors.HexColor("#4C72B0")))
        dx, dy = x2 - x1, y2 - y1
        n = max((dx * dx + dy * dy) ** 0.5, 1)
        ux, uy = dx / n, dy / n
        d.add(Polygon([x2, y2, x2 - 7 * ux - 3 * uy, y2 - 7 * uy + 3 * ux,
                       x2 - 7 * ux + 3 * uy, y2 - 7 * uy - 3 * ux],
                      fillColor=colors.HexColor("#4C72B0"), strokeColor=None))
    return d
