// The desk's visual system in the browser: one Plotly template per mode on every graph, modebars
// on hover, and the grid "freeze" that keeps the live blotter still under the cursor.
(function () {
  const desk = (window.cockpitDesk = window.cockpitDesk || {});
  desk.templates = desk.templates || null; // {light: {...}, dark: {...}} from layouts/figures.py
  desk.frozen = false;
  const heldGrids = new Set();

  function mode() {
    return document.documentElement.getAttribute("data-bs-theme") === "dark" ? "dark" : "light";
  }

  function template() {
    return desk.templates ? desk.templates[mode()] : null;
  }

  // Server figures carry no template (plotly.io default "none"): the page's mode decides, here, so a
  // figure drawn after a theme switch, or by any page's callback, is never white on a dark page.
  function themedLayout(layout) {
    const t = template();
    return t ? Object.assign({}, layout || {}, { template: t }) : layout;
  }

  function themedConfig(config) {
    const c = Object.assign({ displaylogo: false }, config || {});
    if (c.displayModeBar === undefined || c.displayModeBar === true) {
      c.displayModeBar = "hover";
    }
    return c;
  }

  function wrap(P) {
    if (!P || P.__deskWrapped) {
      return P;
    }
    ["react", "newPlot"].forEach(function (name) {
      const original = P[name];
      if (typeof original !== "function") {
        return;
      }
      P[name] = function (gd, data, layout, config) {
        if (data && !Array.isArray(data) && typeof data === "object") {
          // dcc.Graph's form: one {data, layout, frames, config} object
          const figure = Object.assign({}, data, { layout: themedLayout(data.layout), config: themedConfig(data.config) });
          return original.call(P, gd, figure);
        }
        return original.call(P, gd, data, themedLayout(layout), themedConfig(config));
      };
    });
    P.__deskWrapped = true;
    return P;
  }

  // plotly.js arrives after this file (Dash loads it on demand) and sets window.Plotly itself.
  let plotly = window.Plotly ? wrap(window.Plotly) : undefined;
  Object.defineProperty(window, "Plotly", {
    configurable: true,
    enumerable: true,
    get: function () { return plotly; },
    set: function (value) { plotly = wrap(value); },
  });

  function retemplateAll() {
    if (!plotly || !template()) {
      return;
    }
    document.querySelectorAll(".js-plotly-plot").forEach(function (gd) {
      if (gd._fullLayout) {
        plotly.relayout(gd, { template: template() });
      }
    });
  }

  // The theme switch (cockpit.js applyTheme) sets data-bs-theme on <html>: follow it.
  new MutationObserver(retemplateAll).observe(document.documentElement,
                                               { attributes: true, attributeFilter: ["data-bs-theme"] });

  // The freeze: while on, a live refresh of a grid is held (cockpit.js asks `hold`), and replayed
  // once when the desk lets go, so rows never move under the cursor mid-read.
  desk.hold = function (gridId) {
    if (desk.frozen) {
      heldGrids.add(gridId);
    }
    return desk.frozen;
  };

  desk.held = function () { return Array.from(heldGrids); }; // what waits for the release (tests read it)

  function release() {
    heldGrids.forEach(function (gridId) {
      const api = window.dash_ag_grid && window.dash_ag_grid.getApi ? window.dash_ag_grid.getApi(gridId) : null;
      if (api) {
        api.refreshInfiniteCache();
      }
    });
    heldGrids.clear();
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    desk: {
      setTemplates: function (templates) {
        desk.templates = templates || null;
        retemplateAll();
        return mode();
      },
      setFrozen: function (frozen) {
        desk.frozen = !!frozen;
        document.documentElement.toggleAttribute("data-desk-frozen", desk.frozen);
        if (!desk.frozen) {
          release();
        }
        return desk.frozen ? "rows held: updates resume when released" : "";
      },
    },
  });
})();
