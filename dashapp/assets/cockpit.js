// Clientside helpers (served from /assets, so they fit a strict script-src 'self' policy).
(function () {
  let source = null;

  function setLive(state) {
    const colour = { live: "success", connecting: "warning", polling: "secondary" }[state];
    const label = { live: "LIVE", connecting: "CONNECTING", polling: "POLLING" }[state];
    window.dash_clientside.set_props("shell-live-badge", { children: label, color: colour });
  }

  // One EventSource per tab. It reconnects by itself (the server sends `retry: 2000`); while it is
  // down the badge says POLLING and the pages' own intervals keep them current.
  function startStream() {
    if (source !== null || typeof EventSource === "undefined") {
      return;
    }
    setLive("connecting");
    source = new EventSource("/events/stream");
    source.addEventListener("hello", function () { setLive("live"); });
    source.addEventListener("cockpit", function (event) {
      setLive("live");
      window.dash_clientside.set_props("live-events", { data: JSON.parse(event.data) });
    });
    source.onerror = function () { setLive("polling"); };
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    cockpit: {
      applyTheme: function (dark) {
        const mode = dark ? "dark" : "light";
        document.documentElement.setAttribute("data-bs-theme", mode);
        document.documentElement.setAttribute("data-ag-theme-mode", mode);
        return mode;
      },
      refreshBlotter: function (search, parentsOnly, event, gridId) {
        // Order events refresh the visible rows; a new search drops the cache and starts over.
        const triggered = window.dash_clientside.callback_context.triggered.map((t) => t.prop_id);
        const api = window.dash_ag_grid && window.dash_ag_grid.getApi ? window.dash_ag_grid.getApi(gridId) : null;
        if (!api) {
          return window.dash_clientside.no_update;
        }
        const fromEvent = triggered.some((p) => p.startsWith("live-events"));
        if (fromEvent) {
          const topic = event && event.topic ? event.topic : "";
          if (topic === "ingest.orders" || topic === "ingest.fills") {
            api.refreshInfiniteCache();
          }
        } else {
          api.purgeInfiniteCache();
        }
        return window.dash_clientside.no_update;
      },
      startLive: function (pathname) {
        startStream();
        return window.dash_clientside.no_update;
      },
    },
  });
})();
