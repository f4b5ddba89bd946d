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
