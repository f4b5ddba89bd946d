"""Compliance report files from dashapp.services.governance.compliance: the RTS 28-style venue report
(PDF and XLSX through the report renderers), the Rule 606-style routing report (XML loosely after the
SEC's 606 schema, and PDF), and the transaction records (CSV or Parquet, RTS 22 fields the store holds)."""
from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pandas as pd

from dashapp.reports.document import Column, Document, Figures, Table
from dashapp.services.governance import compliance as figures
from models import utcnow

RTS28_COLUMNS = [("rank", "Rank", "int"), ("venue", "Venue", "text"), ("volume", "Volume (notional)", "money"),
                 ("volume_share", "Share of class volume", "pct"), ("orders", "Orders executed", "int"),
                 ("order_share", "Share of class orders", "pct"), ("passive_share", "Passive fills", "pct"),
                 ("aggressive_share", "Aggressive fills", "pct"),
                 ("price_improvement_bps", "Price improvement (bps)", "bps"),
                 ("improved_share", "Fills improved", "pct"), ("fill_rate", "Fill rate", "pct"),
                 ("latency_ms", "Ack latency p50 (ms)", "ms")]
CATEGORY_LABELS = {"market": "Market", "marketable_limit": "Marketable limit",
                   "non_marketable_limit": "Non-marketable limit", "other": "Other"}
DISCLAIMER = ("Internal best-execution monitoring from the desk's own orders and fills; not a regulatory "
              "filing. Conventions: dashapp/services/governance/compliance.py and docs/GOVERNANCE.md.")


def _cell(value):
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def rts28_document(p: figures.Period) -> Document:
    table = figures.rts28(p)
    sections = [Figures("Summary", [("Instrument classes", int(table["asset_class"].nunique()) if len(table) else 0,
                                     "int"), ("Venues", int(table["venue"].nunique()) if len(table) else 0, "int"),
                                    ("Volume (notional)", float(table["volume"].sum()) if len(table) else 0.0,
                                     "money")])]
    if table.empty:
        sections.append(Table("Venues", [Column(t, k) for _, t, k in RTS28_COLUMNS], [],
                              empty_text="No fills in this period."))
    for asset_class, group in table.groupby("asset_class", sort=True):
        for by, label in (("volume", "volume"), ("orders", "order count")):
            top = figures.top_venues(group, by=by)
            rows = [[_cell(r[key]) for key, _, _ in RTS28_COLUMNS] for r in top.to_dict("records")]
            sections.append(Table(f"{asset_class.upper()}: top {figures.TOP_VENUES} venues by {label}",
                                  [Column(t, k) for _, t, k in RTS28_COLUMNS], rows))
    return Document(title="Execution venues (RTS 28-style)", subtitle=f"Period {p} · {DISCLAIMER}",
                    generated_at=utcnow(), timezone="UTC", sections=sections)


def rule606_document(report: dict) -> Document:
    sections = []
    for month in report["months"]:
        name = f"{month['period'].start:%B %Y}"
        sections.append(Figures(f"{name}: non-directed orders", [("Orders", month["total"], "int")] + [
            (f"{CATEGORY_LABELS[c]} (% of orders)", month["category_pct"][c] / 100, "pct")
            for c in figures.CATEGORIES]))
        columns = [Column("Venue"), Column("Orders", "int"), Column("% of orders", "pct")] + [
            Column(f"% of {CATEGORY_LABELS[c].lower()}", "pct") for c in figures.CATEGORIES]
        rows = [[v["venue"], v["orders"], v["order_pct"] / 100] + [v["pct"][c] / 100 for c in figures.CATEGORIES]
                for v in month["venues"]]
        sections.append(Table(f"{name}: venues", columns, rows, empty_text="No orders routed this month.",
                              note="Payment for order flow: none (the desk neither pays nor receives any)."))
    return Document(title=f"Order routing report (Rule 606-style), {report['quarter']}",
                    subtitle=f"Period {report['period']} · {DISCLAIMER}", generated_at=utcnow(), timezone="UTC",
                    sections=sections)


def _add(parent, tag: str, text) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = text if isinstance(text, str) else (f"{text:.2f}" if isinstance(text, float) else str(text))
    return element


def rule606_xml(report: dict, firm: str = "Trading Desk Cockpit") -> bytes:
    """Loosely after the SEC's 606 XML schema (heldOrderRoutingPublicReport / rMonthly / rVenues):
    the same nesting and names where they fit, one section for all instrument classes."""
    root = ET.Element("heldOrderRoutingPublicReport")
    _add(root, "bd", firm)
    _add(root, "year", str(report["period"].start.year))
    _add(root, "qtr", report["quarter"][-1])
    _add(root, "timestamp", utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"))
    for month in report["months"]:
        monthly = ET.SubElement(root, "rMonthly")
        _add(monthly, "year", str(month["period"].start.year))
        _add(monthly, "mon", str(month["period"].start.month))
        section = ET.SubElement(monthly, "rAllInstruments")
        _add(section, "ndoOrders", month["total"])
        pct = month["category_pct"]
        for tag, key in (("ndoMktPct", "market"), ("ndoMktLmtPct", "marketable_limit"),
                         ("ndoNonMktLmtPct", "non_marketable_limit"), ("ndoOtherPct", "other")):
            _add(section, tag, float(pct[key]))
        venues = ET.SubElement(section, "rVenues")
        for venue in month["venues"]:
            node = ET.SubElement(venues, "rVenue")
            _add(node, "name", venue["venue"])
            _add(node, "orderPct", float(venue["order_pct"]))
            for tag, key in (("marketPct", "market"), ("marketableLimitPct", "marketable_limit"),
                             ("nonMarketableLimitPct", "non_marketable_limit"), ("otherPct", "other")):
                _add(node, tag, float(venue["pct"][key]))
            for tag in ("netPmtPaidRecvMarketOrdersUsd", "netPmtPaidRecvMarketableLimitOrdersUsd",
                        "netPmtPaidRecvNonMarketableLimitOrdersUsd", "netPmtPaidRecvOtherOrdersUsd"):
                _add(node, tag, 0.0)
    ET.indent(root)
    data = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    ET.fromstring(data)  # well-formed, or raise before anything is written
    return data


# --- transaction records (RTS 22 fields) ------------------------------------------------------------

# (RTS 22 field, column in the file, how the store fills it)
RTS22_AVAILABLE = [
    ("2 Transaction reference number", "transaction_reference", "fill exec id (engine:exec_id)"),
    ("3 Trading venue transaction identification code", "venue_transaction_id", "fill exec id"),
    ("7 Buyer identification code", "buyer", "account code when we buy, venue when we sell"),
    ("16 Seller identification code", "seller", "account code when we sell, venue when we buy"),
    ("28 Trading date time", "trading_date_time", "fill time, UTC, ISO 8601"),
    ("30 Quantity", "quantity", "fill quantity"), ("31 Quantity currency", "quantity_currency", "instrument currency"),
    ("33 Price", "price", "fill price"), ("34 Price currency", "price_currency", "instrument currency"),
    ("35 Net amount", "net_amount", "quantity x price x multiplier"),
    ("36 Venue", "venue", "venue code (a MIC where the venue has one)"),
    ("41 Instrument identification code", "instrument", "symbol (no ISIN stored)"),
    ("43 Instrument classification", "instrument_class", "asset class"),
    ("57 Investment decision within firm", "investment_decision", "strategy code (algorithm)"),
    ("59 Execution within firm", "execution_within_firm", "engine id (algorithm)"),
    ("- Order reference", "order_reference", "engine:client_order_id"), ("- Side", "side", "buy or sell"),
    ("- Fee", "fee", "fee charged on the fill")]
RTS22_NOT_AVAILABLE = [
    "1 Report status", "4 Executing entity identification code (LEI)", "5 Investment firm covered by MiFIR",
    "6 Submitting entity identification code", "8-15 Buyer details and decision maker",
    "17-24 Seller details and decision maker", "25 Transmission of order indicator", "26-27 Transmitting firm codes",
    "29 Trading capacity", "32 Derivative notional increase/decrease", "37 Country of the branch membership",
    "38-40 Up-front payment, complex trade id", "42-56 Instrument reference data (ISIN, CFI, maturity, ...)",
    "58 Country of the branch for the investment decision", "60 Country of the branch supervising execution",
    "61 Waiver indicator", "62 Short selling indicator", "63 OTC post-trade indicator",
    "64 Commodity derivative indicator", "65 Securities financing transaction indicator"]


def transactions_frame(p: figures.Period) -> pd.DataFrame:
    fills = figures.fills_frame(p)
    columns = [column for _, column, _ in RTS22_AVAILABLE]
    if fills.empty:
        return pd.DataFrame(columns=columns)
    buy = fills["side"] == "buy"
    frame = pd.DataFrame({
        "transaction_reference": fills["engine_id"] + ":" + fills["exec_id"],
        "venue_transaction_id": fills["exec_id"], "buyer": fills["account"].where(buy, fills["venue"]),
        "seller": fills["venue"].where(buy, fills["account"]),
        "trading_date_time": pd.to_datetime(fills["filled_at"], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "quantity": fills["quantity"], "quantity_currency": fills["currency"], "price": fills["price"],
        "price_currency": fills["currency"], "net_amount": fills["notional"], "venue": fills["venue"],
        "instrument": fills["symbol"], "instrument_class": fills["asset_class"],
        "investment_decision": fills["strategy"], "execution_within_firm": fills["engine_id"],
        "order_reference": fills["engine_id"] + ":" + fills["client_order_id"], "side": fills["side"],
        "fee": fills["fee"]})
    return frame[columns]


def transactions_file(p: figures.Period, fmt: str) -> bytes:
    frame = transactions_frame(p)
    buffer = io.BytesIO()
    if fmt == "csv":
        frame.to_csv(buffer, index=False)
    else:
        frame.to_parquet(buffer, index=False, engine="pyarrow")
    return buffer.getvalue()


def fields_note() -> str:
    lines = ["RTS 22 fields in this file (field: column: source)"]
    lines += [f"{field}: {column}: {source}" for field, column, source in RTS22_AVAILABLE]
    lines += ["", "RTS 22 fields NOT available in the store (to be completed by the reporting firm)"]
    lines += RTS22_NOT_AVAILABLE
    return "\n".join(lines) + "\n"
