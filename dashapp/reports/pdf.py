"""Any report Document as a PDF (reportlab platypus, A4 landscape): title, headline figures, tables
that repeat their header on every page, and bar/line charts drawn with reportlab's own graphics."""
from __future__ import annotations

import io

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table as PdfTable, TableStyle

from dashapp.reports.document import Chart, Document, Figures, Table, is_number, show

PALETTE = [colors.HexColor(c) for c in ("#0d6efd", "#fd7e14", "#198754", "#6f42c1", "#dc3545", "#20c997")]
HEADER_BG = colors.HexColor("#e9ecef")
ZEBRA = colors.HexColor("#f8f9fa")
MAX_ROWS = 500  # a PDF is for reading; the spreadsheet carries everything


def render_pdf(document: Document) -> bytes:
    buffer = io.BytesIO()
    styles = getSampleStyleSheet()
    page = SimpleDocTemplate(buffer, pagesize=landscape(A4), leftMargin=14 * mm, rightMargin=14 * mm,
                             topMargin=12 * mm, bottomMargin=14 * mm, title=document.title,
                             author="Trading Desk Cockpit", subject=document.subtitle)
    story = [Paragraph(_escape(document.title), styles["Title"]),
             Paragraph(_escape(document.subtitle), styles["Normal"]),
             Paragraph(f"Generated {_escape(document.generated_local)}", styles["Italic"]), Spacer(1, 6 * mm)]
    width = page.width
    for section in document.sections:
        if isinstance(section, Table):
            story.extend(_table_block(section, styles, width))
        else:
            story.append(KeepTogether(_section(section, styles, width)))
        story.append(Spacer(1, 5 * mm))

    def footer(canvas, doc):
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.setFillColor(colors.grey)
        canvas.drawString(14 * mm, 8 * mm, f"{document.title} · {document.generated_local}")
        canvas.drawRightString(landscape(A4)[0] - 14 * mm, 8 * mm, f"page {doc.page}")
        canvas.restoreState()

    page.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def _escape(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _heading(title: str, styles) -> Paragraph:
    return Paragraph(_escape(title), styles["Heading2"])


def _section(section, styles, width) -> list:
    if isinstance(section, Figures):
        rows = [[_escape(label), show(value, kind)] for label, value, kind in section.items]
        table = PdfTable(rows, colWidths=[70 * mm, 60 * mm], hAlign="LEFT")
        table.setStyle(TableStyle([("FONTNAME", (0, 0), (0, -1), "Helvetica-Bold"), ("FONTSIZE", (0, 0), (-1, -1), 9),
                                   ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                                   ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey)]))
        return [_heading(section.title, styles), table]
    if isinstance(section, Chart):
        if section.empty:
            return [_heading(section.title, styles), Paragraph(_escape(section.empty_text), styles["Italic"])]
        return [_heading(section.title, styles), _chart(section, width)]
    raise TypeError(f"unknown section {type(section).__name__}")


def _table_block(section: Table, styles, width) -> list:
    """Heading and table kept together when short; a long table splits across pages (header repeated)."""
    parts = [_heading(section.title, styles)]
    if not section.rows:
        parts.append(Paragraph(_escape(section.empty_text), styles["Italic"]))
        return [KeepTogether(parts)]
    cell = styles["BodyText"].clone("cell", fontSize=8, leading=10)
    header = [Paragraph(f"<b>{_escape(c.title)}</b>", cell) for c in section.columns]
    body = [[show(value, section.kind(r, c)) for c, value in enumerate(row)]
            for r, row in enumerate(section.rows[:MAX_ROWS])]
    table = PdfTable([header] + body, repeatRows=1, hAlign="LEFT",
                     colWidths=[min(width / len(section.columns), 60 * mm)] * len(section.columns))
    style = [("FONTSIZE", (0, 1), (-1, -1), 8), ("BACKGROUND", (0, 0), (-1, 0), HEADER_BG),
             ("GRID", (0, 0), (-1, -1), 0.25, colors.lightgrey), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]
    for index, column in enumerate(section.columns):
        if column.kind != "text" or (section.row_kinds and index > 0):
            style.append(("ALIGN", (index, 1), (index, -1), "RIGHT"))
    style += [("BACKGROUND", (0, r), (-1, r), ZEBRA) for r in range(2, len(body) + 1, 2)]
    table.setStyle(TableStyle(style))
    parts.append(table)
    notes = [section.note] if section.note else []
    if len(section.rows) > MAX_ROWS:
        notes.append(f"First {MAX_ROWS} of {len(section.rows)} rows; the spreadsheet has them all.")
    parts += [Paragraph(_escape(note), styles["Italic"]) for note in notes]
    return [KeepTogether(parts)] if len(body) < 25 else parts


def _chart(section: Chart, width) -> Drawing:
    height = 70 * mm
    drawing = Drawing(width, height)
    chart = VerticalBarChart() if section.kind == "bar" else HorizontalLineChart()
    chart.x, chart.y = 18 * mm, 14 * mm
    chart.width, chart.height = width - 80 * mm, height - 22 * mm
    names = list(section.series)
    chart.data = [[v if is_number(v) else 0.0 for v in section.series[name]] for name in names]
    chart.categoryAxis.categoryNames = [str(c) for c in section.categories]
    chart.categoryAxis.labels.fontSize = 7
    if len(section.categories) > 8:
        chart.categoryAxis.labels.angle = 30
        chart.categoryAxis.labels.boxAnchor = "ne"
    chart.valueAxis.labels.fontSize = 7
    values = [v for row in chart.data for v in row]
    chart.valueAxis.valueMin = min(0.0, min(values))
    chart.valueAxis.valueMax = max(values) * 1.1 if max(values) > 0 else 1.0
    for index in range(len(names)):
        colour = PALETTE[index % len(PALETTE)]
        if section.kind == "bar":
            chart.bars[index].fillColor = colour
        else:
            chart.lines[index].strokeColor = colour
            chart.lines[index].strokeWidth = 1.5
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y = width - 58 * mm, height - 12 * mm
    legend.fontSize = 8
    legend.colorNamePairs = [(PALETTE[i % len(PALETTE)], name) for i, name in enumerate(names)]
    drawing.add(legend)
    return drawing
