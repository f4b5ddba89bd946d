// Named formatters for dash-ag-grid (its `{"function": "name(params.value)"}` form calls these;
// arbitrary code strings are blocked by dash-ag-grid, which is what we want).
var dagfuncs = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});

function fixed(value, digits) {
  if (value === null || value === undefined || Number.isNaN(value)) {
    return "";
  }
  return Number(value).toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

dagfuncs.num0 = function (value) { return fixed(value, 0); };
dagfuncs.num2 = function (value) { return fixed(value, 2); };
dagfuncs.num4 = function (value) { return fixed(value, 4); };

// Row ids must be strings for AG Grid; `String(...)` itself is not callable from a grid option
// string (dash-ag-grid only evaluates plain expressions and these named functions).
dagfuncs.rowKey = function (data) { return data && data.id !== undefined && data.id !== null ? String(data.id) : undefined; };

// ---- the desk's formatters (kinds in dashapp/presentation/columns.py; same digits as the PDF)
dagfuncs.qty = function (value) {
  if (value === null || value === undefined || Number.isNaN(value)) { return ""; }
  return Number.isInteger(Number(value)) ? fixed(value, 0) : fixed(value, 2);
};
dagfuncs.pct2 = function (value) {
  if (value === null || value === undefined || Number.isNaN(value)) { return ""; }
  return fixed(Number(value) * 100, 2) + "%";
};

function pad(n, width) { return String(n).padStart(width || 2, "0"); }

// Stored times are UTC; an ISO string without an offset is read as UTC (not the browser's zone),
// and shown whole: date, time to the second (or ms), never cut by a narrow column.
function utcText(value, millis) {
  if (value === null || value === undefined || value === "") { return ""; }
  let text = String(value);
  if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(text) && !/(Z|[+-]\d{2}:?\d{2})$/.test(text)) {
    text = text.replace(" ", "T") + "Z";
  }
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) { return String(value); }
  const base = d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + " " +
    pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds());
  return millis ? base + "." + pad(d.getUTCMilliseconds(), 3) : base;
}
dagfuncs.ts = function (value) { return utcText(value, false); };
dagfuncs.tsms = function (value) { return utcText(value, true); };

// Side colour coding (buy green, sell red); "long"/"short" signals read the same way.
dagfuncs.deskSide = function (value) {
  const v = String(value || "").toLowerCase();
  if (v === "buy" || v === "long" || v === "b") { return "buy"; }
  if (v === "sell" || v === "short" || v === "s") { return "sell"; }
  return "";
};

// Status badge: one colour per family of states (open, done, bad, neutral).
var dagcomponentfuncs = (window.dashAgGridComponentFunctions = window.dashAgGridComponentFunctions || {});
var STATUS_TONE = {
  new: "info", pending: "info", pending_new: "info", acknowledged: "info", accepted: "info", open: "info",
  working: "info", queued: "info", running: "info", partially_filled: "warning", partial: "warning",
  scale: "warning", warning: "warning", filled: "success", done: "success", succeeded: "success",
  success: "success", ok: "success", allow: "success", passed: "success", pass: "success",
  rejected: "danger", reject: "danger", failed: "danger", failure: "danger", block: "danger",
  breach: "danger", error: "danger", expired: "secondary", cancelled: "secondary", canceled: "secondary",
  // alerts: severities, alert states, incident states
  critical: "danger", high: "warning", info: "info", firing: "danger", recovering: "warning", normal: "success",
  nodata: "secondary", mitigated: "warning", resolved: "success", sent: "success", suppressed: "secondary",
  retrying: "warning", active: "info",
};
dagcomponentfuncs.DeskBadge = function (props) {
  const value = props.value === null || props.value === undefined ? "" : String(props.value);
  if (value === "") { return null; }
  const tone = STATUS_TONE[value.toLowerCase()] || "secondary";
  return window.React.createElement("span", {className: "badge desk-badge text-bg-" + tone}, value);
};

// A position is one (strategy, instrument): a stable row id lets changed cells flash in place.
dagfuncs.positionKey = function (data) { return data ? String(data.strategy) + "|" + String(data.instrument) : undefined; };
