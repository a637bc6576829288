"""The figures of the notebooks (the unrolled networks, the GRU cell's backward paths),
drawn as SVG with fixed coordinates.

Time runs left to right, inputs below the cells, outputs above, so no arrow crosses
another (a graph layout engine such as Mermaid's places the nodes itself and may
stack x<3> above x<2>). Chromium turns each SVG into a PNG, stored in its markdown
cell as an attachment, so the notebook stays one self-contained file wherever it is
opened.

    python solutions/diagrams.py    # (re)writes the attachments of solutions/*/*.ipynb

``tests/test_release.py`` checks that each notebook's figure was drawn from the SVG
this script draws today (the PNG carries the SVG's digest).
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import struct
import zlib
from pathlib import Path

import nbformat

FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"'
INK, CELL, MUTED = "#1f2933", "#dbe9f6", "#52606d"


def _text(x: float, y: float, label: str, size: int = 15, color: str = INK, anchor: str = "middle") -> str:
    """``label`` with ``<t>`` written as a superscript, as in the notebooks' x^<t>."""
    parts = label.split("<", 1)
    body = parts[0]
    if len(parts) == 2:
        sup, rest = parts[1].split(">", 1)
        body += f'<tspan dy="-6" font-size="{size - 4}">&lt;{sup}&gt;</tspan><tspan dy="6">{rest}</tspan>'
    return (
        f'<text x="{x}" y="{y}" text-anchor="{anchor}" font-size="{size}" fill="{color}" {FONT}>{body}</text>'
    )


def _code(x: float, y: float, label: str, anchor: str = "middle") -> str:
    return (
        f'<text x="{x}" y="{y}" text-anchor="{anchor}" font-size="12" fill="{MUTED}" '
        f'font-family="DejaVu Sans Mono, Menlo, monospace">{label}</text>'
    )


def _arrow(x1: float, y1: float, x2: float, y2: float, dashed: bool = False) -> str:
    dash = ' stroke-dasharray="5 4"' if dashed else ""
    return (
        f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{INK}" stroke-width="1.6"'
        f'{dash} marker-end="url(#head)"/>'
    )


def _box(cx: float, cy: float, w: float, h: float, label: str) -> str:
    return (
        f'<rect x="{cx - w / 2}" y="{cy - h / 2}" width="{w}" height="{h}" rx="8" fill="{CELL}" '
        f'stroke="{INK}" stroke-width="1.4"/>' + _text(cx, cy + 5, label)
    )


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    head = (
        '<defs><marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{INK}"/>'
        "</marker></defs>"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img"><title>{title}</title>'
        f'<rect width="{width}" height="{height}" fill="white"/>{head}{"".join(body)}</svg>\n'
    )


def unrolled_forward() -> str:
    """a0 -> cell -> cell -> cell; x<t> below each cell, y_hat<t> above."""
    cols = [230, 400, 570]
    body = [_text(70, 137, "a<0>"), _code(70, 156, "a0"), _arrow(100, 132, cols[0] - 52, 132)]
    for t, cx in enumerate(cols, start=1):
        body += [
            _box(cx, 132, 100, 46, "RNN cell"),
            _arrow(cx, 205, cx, 157),
            _text(cx, 225, f"x<{t}>"),
            _code(cx, 243, f"x[:, :, {t - 1}]"),
            _arrow(cx, 107, cx, 62),
            _text(cx, 44, f"ŷ<{t}>"),
            _code(cx, 26, f"y_pred[:, :, {t - 1}]"),
        ]
        if t < len(cols):
            body += [_arrow(cx + 50, 132, cols[t] - 52, 132), _text((cx + cols[t]) / 2, 122, f"a<{t}>", 14)]
    body += [_arrow(cols[-1] + 50, 132, cols[-1] + 100, 132), _text(cols[-1] + 118, 122, "a<3>", 14)]
    body.append(_text(400, 278, "every cell uses the same Wax, Waa, Wya, ba, by", 13, MUTED))
    return _svg(720, 290, body, "The RNN unrolled over three time steps")


def unrolled_backward() -> str:
    """da[:, :, t] into each cell from above; the recurrent gradient flows right to left;
    dx[:, :, t] and the parameter gradients leave below."""
    cols = [230, 420, 610]
    body = [_text(70, 118, "da0"), _arrow(cols[0] - 55, 113, 100, 113)]
    for t, cx in enumerate(cols):
        body += [
            _code(cx, 26, f"da[:, :, {t}]"),
            _arrow(cx, 34, cx, 88),
            _box(cx, 113, 110, 46, f"cell t={t}"),
            _arrow(cx - 25, 136, cx - 25, 186),
            _code(cx - 25, 204, f"dx[:, :, {t}]"),
            _arrow(cx + 30, 136, cx + 30, 236, dashed=True),
        ]
        if t:
            body += [
                _arrow(cx - 55, 113, cols[t - 1] + 55, 113),
                _code((cx + cols[t - 1]) / 2, 104, "da_prev"),
            ]
    body += [
        f'<rect x="{cols[0] - 40}" y="238" width="{cols[-1] - cols[0] + 120}" height="30" rx="6" '
        f'fill="white" stroke="{INK}" stroke-dasharray="5 4"/>',
        _text((cols[0] + cols[-1]) / 2 + 20, 258, "dWax, dWaa, dba: summed over t", 14),
    ]
    return _svg(720, 280, body, "Backpropagation through time over three steps")


DXT_NOTE = "dxt: the xt rows of the gradients of both stacks, [r*a_prev; xt] and [a_prev; xt]"


def gru_cell_backward_paths() -> str:
    """The gradient of one GRU cell flowing right to left: da_next enters the
    interpolation; the paths to a_prev (direct, through the candidate and the reset
    product, through both gates) meet in one sum; no arrow crosses another."""
    body = [
        _text(672, 85, "da_next"),
        _arrow(660, 90, 622, 90),
        _box(560, 90, 120, 46, "a_next"),
        _code(560, 52, "z*a_prev + (1-z)*h_tilde"),
        # the direct path, along the top
        _arrow(500, 80, 128, 86),
        _code(320, 72, "da_next * z   (direct)"),
        # through the candidate, then the reset product
        _arrow(520, 113, 466, 156),
        _code(500, 152, "d h_tilde", anchor="start"),
        _box(420, 180, 130, 46, "candidate"),
        _code(420, 224, "tanh(Wh [r*a_prev; xt] + bh)"),
        _arrow(355, 180, 282, 180),
        _code(318, 150, "d(r*a_prev)"),
        _box(230, 180, 100, 46, "r ⊙ a_prev"),
        _arrow(200, 157, 122, 102),
        _code(166, 122, "* r", anchor="start"),
        # through the gates: dz from the interpolation, dr from the reset product
        _arrow(610, 113, 610, 258),
        _code(618, 200, "dz", anchor="start"),
        _box(400, 280, 440, 44, "gates z, r = sigmoid(W [a_prev; xt] + b)"),
        _arrow(230, 203, 230, 256),
        _code(236, 236, "dr", anchor="start"),
        _arrow(182, 258, 104, 104),
        _code(118, 240, "ds[:n_a]", anchor="end"),
        # the sum, and what leaves the cell
        '<circle cx="110" cy="90" r="14" fill="white" stroke="#1f2933" stroke-width="1.4"/>',
        _text(110, 96, "+", 18),
        _arrow(96, 90, 20, 90),
        _text(50, 78, "da_prev", 14),
        _text(360, 332, DXT_NOTE, 13, MUTED),
    ]
    return _svg(720, 344, body, "Backward through one GRU cell: the paths into da_prev")


def rnn_cell() -> str:
    """One cell: a_prev from the left and xt from below into the affine map, tanh, a_next
    out to the right (the next step) and up into the output layer."""
    body = [
        _text(60, 205, "a_prev"),
        _code(60, 224, "(n_a, m)"),
        _arrow(100, 200, 178, 200),
        _box(300, 200, 240, 46, "Waa a_prev + Wax xt + ba"),
        _arrow(300, 290, 300, 225),
        _text(300, 308, "xt"),
        _code(300, 326, "(n_x, m)"),
        _arrow(420, 200, 470, 200),
        _box(520, 200, 90, 46, "tanh"),
        _arrow(565, 200, 660, 200),
        _text(700, 205, "a_next"),
        _code(700, 224, "(n_a, m)"),
        _arrow(740, 200, 815, 200),
        _code(778, 190, "to step t+1"),
        _arrow(700, 182, 700, 128),
        _box(700, 104, 230, 46, "softmax(Wya a_next + by)"),
        _arrow(700, 80, 700, 40),
        _text(700, 28, "yt_pred", anchor="middle"),
        _code(770, 28, "(n_y, m)", anchor="start"),
    ]
    return _svg(860, 340, body, "One RNN cell")


# (notebook, grade_id of the markdown cell, attachment name, figure)
FIGURES = [
    ("assign_5a", "md_rnn_cell", "rnn_cell.png", rnn_cell),
    ("assign_5a", "md_rnn_forward", "unrolled_rnn.png", unrolled_forward),
    ("assign_5b", "md_bptt", "bptt.png", unrolled_backward),
    ("assign_5c", "md_cell_backward", "gru_backward_paths.png", gru_cell_backward_paths),
]


def source_digest(svg: str) -> str:
    return hashlib.sha256(svg.encode()).hexdigest()


def tag_png(png: bytes, svg: str) -> bytes:
    """``png`` with a tEXt chunk ``Source`` holding the digest of the SVG it was drawn from,
    so a test can tell a notebook's figure is the one this script draws today."""
    data = b"Source\0" + source_digest(svg).encode()
    chunk = struct.pack(">I", len(data)) + b"tEXt" + data + struct.pack(">I", zlib.crc32(b"tEXt" + data))
    head = 8 + 25  # the PNG signature, then the IHDR chunk, which must come first
    return png[:head] + chunk + png[head:]


def png_source(png: bytes) -> str | None:
    """The digest ``tag_png`` wrote into ``png``, or None."""
    at = 8
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind, data = png[at + 4 : at + 8], png[at + 8 : at + 8 + length]
        if kind == b"tEXt" and data.startswith(b"Source\0"):
            return data[len(b"Source\0") :].decode()
        at += 12 + length
    return None


def rasterize(svgs: list[str]) -> list[bytes]:
    """Each SVG as a PNG of its own size, drawn by Chromium.

    A PNG, because JupyterLab shows a markdown attachment only as a bitmap image type
    (it refuses image/svg+xml), while nbconvert, classic Notebook and GitHub show PNG too.
    """
    from playwright.sync_api import sync_playwright

    pngs = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        for svg in svgs:
            width, height = (int(re.search(f'{k}="(\\d+)"', svg)[1]) for k in ("width", "height"))
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_content(f'<body style="margin:0">{svg}</body>')
            pngs.append(
                tag_png(page.screenshot(clip={"x": 0, "y": 0, "width": width, "height": height}), svg)
            )
            page.close()
        browser.close()
    return pngs


def write_attachments(root: Path) -> None:
    pngs = rasterize([figure() for *_, figure in FIGURES])
    for (assignment, grade_id, name, _), png in zip(FIGURES, pngs, strict=True):
        path = root / assignment / f"{assignment}.ipynb"
        nb = nbformat.read(path, as_version=4)
        cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
        if f"](attachment:{name})" not in cell.source:
            raise SystemExit(f"{path}: cell {grade_id} does not show attachment:{name}")
        cell["attachments"] = {name: {"image/png": base64.b64encode(png).decode()}}
        nbformat.write(nb, path)
        print(f"wrote {name} ({len(png)} bytes) into {path}")


if __name__ == "__main__":
    write_attachments(Path(__file__).resolve().parent)
