"""A PDF report through reportlab: a title page with the export's facts and two bar charts
(reportlab.graphics, aggregated in SQL over the whole filtered dataset), then each table, landscape,
header repeated on every page. A PDF is for reading, not for a million rows: each table shows at
most PDF_MAX_ROWS rows, the NEWEST ones when the table can fetch them (orders, fills), and says how
many older rows were left out, pointing to the data formats. Headers and cell formats come from the
column catalogue (dashapp/presentation/columns.py), as in the grids."""
from __future__ import annotations

from pathlib import Path

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer
from reportlab.platypus import Table as PdfTable
from reportlab.platypus import TableStyle

from dashapp.exports.tables import Chart, ExportData, Progress, Table, WriteResult, summary_facts
from dashapp.presentation.columns import export_kind, format_value, header

PDF_MAX_ROWS = 1000
PAGE = landscape(A4)
MARGIN = 12 * mm
HEADER_BLUE = colors.HexColor("#1F3864")
ZEBRA = colors.HexColor("#F2F4F8")
KIND_WEIGHT = {"int": 1.0, "float": 1.3, "price": 1.3, "pct": 1.0, "datetime": 2.0, "str": 1.5}
TEXT_MAX = 34


def cell_text(value, kind: str) -> str:
    """A cell by its export kind alone (a column the catalogue does not name)."""
    return _cell("", value, kind)


def bar_chart(chart: Chart, width: float, height: float) -> Drawing:
    drawing = Drawing(width, height)
    drawing.add(String(0, height - 12, chart.title + (f" ({chart.unit})" if chart.unit else ""),
                       fontName="Helvetica-Bold", fontSize=10))
    if not chart.values:
        drawing.add(String(0, height / 2, "No data for this chart in the export's period and filters.",
                           fontName="Helvetica-Oblique", fontSize=9, fillColor=colors.grey))
        return drawing
    bars = HorizontalBarChart()
    bars.x, bars.y = 95, 18
    bars.width, bars.height = width - 110, height - 42
    labels = [label if len(label) <= 18 else label[:17] + "…" for label in chart.labels][::-1]
    bars.data = [list(chart.values)[::-1]]
    bars.categoryAxis.categoryNames = labels
    bars.categoryAxis.labels.fontSize = 7
    bars.categoryAxis.labels.boxAnchor = "e"
    bars.valueAxis.labels.fontSize = 7
    low = min(0.0, min(chart.values))
    high = max(chart.values)
    bars.valueAxis.valueMin = low
    bars.valueAxis.valueMax = high * 1.1 if high > 0 else 1.0
    bars.valueAxis.labelTextFormat = lambda v: f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}"
    bars.bars[0].fillColor = colors.HexColor("#2E75B6")
    bars.barWidth = 6
    drawing.add(bars)
    return drawing


def _rows(table: Table, cap: int, progress: Progress, offset: int):
    """The first `cap` rows of the table (stops reading there)."""
    rows = []
    chunks = iter(table.chunks())
    try:
        for chunk in chunks:
            rows.extend(chunk[:cap - len(rows)])
            progress(offset + len(rows))
            if len(rows) >= cap:
                break
    finally:
        if hasattr(chunks, "close"):
            chunks.close()  # a generator: let it release its connection now
    return rows


def _cell(name: str, value, kind: str) -> str:
    text = format_value(name, value, export_kind(name, kind))
    return text if len(text) <= TEXT_MAX else text[:TEXT_MAX - 1] + "…"


def _newest_rows(table: Table, cap: int, progress: Progress, offset: int) -> list:
    rows = list(table.newest(cap))
    progress(offset + len(rows))
    return rows


def _table_flowable(table: Table, rows: list, available_width: float) -> PdfTable:
    names = table.pdf_columns or table.column_names()
    index = {c.name: i for i, c in enumerate(table.columns)}
    kinds = {c.name: c.kind for c in table.columns}
    data = [[header(n) for n in names]] + [[_cell(n, row[index[n]], kinds[n]) for n in names] for row in rows]
    weights = [KIND_WEIGHT[kinds[n]] for n in names]
    widths = [available_width * w / sum(weights) for w in weights]
    flowable = PdfTable(data, colWidths=widths, repeatRows=1)
    style = [("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 7), ("FONT", (0, 1), (-1, -1), "Helvetica", 6.5),
             ("BACKGROUND", (0, 0), (-1, 0), HEADER_BLUE), ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
             ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
             ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5)]
    for col, name in enumerate(names):
        if kinds[name] in ("int", "float", "price", "pct"):
            style.append(("ALIGN", (col, 1), (col, -1), "RIGHT"))
    for r in range(2, len(data), 2):
        style.append(("BACKGROUND", (0, r), (-1, r), ZEBRA))
    flowable.setStyle(TableStyle(style))
    return flowable


def write(path: Path, data: ExportData, progress: Progress, max_rows: int = PDF_MAX_ROWS) -> WriteResult:
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    note = styles["BodyText"].clone("note", fontSize=8, leading=10, textColor=colors.HexColor("#8A4B08"))
    width = PAGE[0] - 2 * MARGIN
    footer = f"Trading Desk Cockpit · {data.title} · generated {data.meta.get('generated_at', '')} UTC " \
             f"by {data.meta.get('generated_by', '')}"

    def on_page(canvas, doc):
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.setFillColor(colors.grey)
        canvas.drawString(MARGIN, 7 * mm, footer)
        canvas.drawRightString(PAGE[0] - MARGIN, 7 * mm, f"page {doc.page}")
        canvas.restoreState()

    story = [Paragraph(f"{data.title} export", styles["Title"])]
    facts = [[label, value] for label, value in summary_facts(data.meta)]
    tables_read = []
    rows_written: dict[str, int] = {}
    notes: list[str] = []
    offset = 0
    for table in data.tables:
        newest = table.newest is not None and table.count is not None and table.count > max_rows
        rows = _newest_rows(table, max_rows, progress, offset) if newest else _rows(table, max_rows, progress, offset)
        offset += len(rows)
        rows_written[table.name] = len(rows)
        tables_read.append((table, rows))
        total = table.count if table.count is not None else len(rows)
        which = "newest" if newest else "first"
        facts.append([f"Rows: {table.name}", f"{total:,}" + (f" (this report shows the {which} {len(rows):,}; "
                                                              f"{total - len(rows):,} left out)"
                                                              if total > len(rows) else "")])
        if total > len(rows):
            order = "newest first" if newest else "by id"
            notes.append(f"{table.name}: showing the {which} {len(rows):,} of {total:,} rows ({order}); "
                         f"{total - len(rows):,} {'older ' if newest else ''}rows left out. A PDF is a "
                         f"report; export CSV, Excel, JSON or Parquet for every row.")
    fact_table = PdfTable([[Paragraph(f"<b>{a}</b>", small), Paragraph(b, small)] for a, b in facts],
                          colWidths=[45 * mm, width - 45 * mm])
    fact_table.setStyle(TableStyle([("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
                                    ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story += [fact_table, Spacer(1, 6 * mm)]
    charts = data.charts()[:2]
    if charts:
        chart_width = width / 2 - 4 * mm
        drawings = [bar_chart(chart, chart_width, 70 * mm) for chart in charts]
        story.append(PdfTable([drawings], colWidths=[width / 2] * len(drawings)))
    for text in notes:
        story += [Spacer(1, 3 * mm), Paragraph(text, note)]
    for table, rows in tables_read:
        story += [PageBreak(), Paragraph(table.name, styles["Heading2"])]
        if rows:
            story.append(_table_flowable(table, rows, width))
        else:
            story.append(Paragraph("No rows in the export's period and filters.", small))
    doc = SimpleDocTemplate(str(path), pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                            bottomMargin=14 * mm, title=f"{data.title} export",
                            author=str(data.meta.get("generated_by", "")), subject="Trading Desk Cockpit export")
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return WriteResult(rows_written, notes)
