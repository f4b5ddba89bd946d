"""Read back an .xlsx without openpyxl (not a dependency): it is a ZIP of XML parts. Enough to
check what the Excel writer promises: sheet names and order, cell values, the frozen header, the
autofilter, column widths and number formats."""
from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
      "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
      "rel": "http://schemas.openxmlformats.org/package/2006/relationships"}


@dataclass
class Sheet:
    name: str
    rows: list[list] = field(default_factory=list)
    frozen_rows: int = 0
    autofilter: str | None = None
    widths: dict[int, float] = field(default_factory=dict)
    styles: dict[tuple[int, int], int] = field(default_factory=dict)  # (row, col) -> style index


def _col(ref: str) -> int:
    letters = re.match(r"[A-Z]+", ref).group(0)
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def read(path, max_rows: int | None = None) -> tuple[list[Sheet], list[str]]:
    """(sheets in workbook order, number format codes by style index)."""
    with zipfile.ZipFile(path) as z:
        shared = []
        if "xl/sharedStrings.xml" in z.namelist():
            shared = ["".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t"))
                      for si in ET.fromstring(z.read("xl/sharedStrings.xml")).findall("m:si", NS)]
        book = ET.fromstring(z.read("xl/workbook.xml"))
        rels = {r.get("Id"): r.get("Target") for r in ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))}
        styles = ET.fromstring(z.read("xl/styles.xml"))
        custom = {int(f.get("numFmtId")): f.get("formatCode") for f in styles.iter(f"{{{NS['m']}}}numFmt")}
        xfs = styles.find("m:cellXfs", NS)
        formats = [custom.get(int(xf.get("numFmtId", 0)), "General") for xf in xfs.findall("m:xf", NS)]
        sheets = []
        for node in book.find("m:sheets", NS):
            target = rels[node.get(f"{{{NS['r']}}}id")]
            sheet = Sheet(node.get("name"))
            with z.open("xl/" + target.lstrip("/").removeprefix("xl/")) as handle:
                for _, element in ET.iterparse(handle):
                    tag = element.tag.split("}")[1]
                    if tag == "pane" and element.get("state") == "frozen":
                        sheet.frozen_rows = int(float(element.get("ySplit", 0)))
                    elif tag == "autoFilter":
                        sheet.autofilter = element.get("ref")
                    elif tag == "col":
                        for c in range(int(element.get("min")), int(element.get("max")) + 1):
                            sheet.widths[c - 1] = float(element.get("width"))
                    elif tag == "row":
                        if max_rows is None or len(sheet.rows) < max_rows:
                            sheet.rows.append(_row(element, shared, sheet, len(sheet.rows)))
                        element.clear()
            sheets.append(sheet)
    return sheets, formats


def _row(element, shared, sheet: Sheet, index: int) -> list:
    values: dict[int, object] = {}
    for cell in element.findall("m:c", NS):
        col = _col(cell.get("r"))
        kind = cell.get("t")
        if cell.get("s") and index < 3:
            sheet.styles[(index, col)] = int(cell.get("s"))
        if kind == "inlineStr":
            values[col] = "".join(t.text or "" for t in cell.iter(f"{{{NS['m']}}}t"))
        elif kind in ("e", "str"):  # an error (#NUM!) or a formula's cached text
            values[col] = cell.find("m:v", NS).text
        elif kind == "s":
            values[col] = shared[int(cell.find("m:v", NS).text)]
        else:
            v = cell.find("m:v", NS)
            values[col] = float(v.text) if v is not None else None
    return [values.get(c) for c in range(max(values) + 1)] if values else []
