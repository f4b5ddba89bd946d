// Clientside helpers (served from /assets, so they fit a strict script-src 'self' policy).
(function () {
  // ---------------------------------------------------------------- live push, one per browser
  // The server caps live streams per user and per web process (each holds a server thread), so the
  // tabs of one browser share ONE EventSource: the tab holding the "cockpit-live" Web Lock opens it
  // and relays every event to the other tabs over a BroadcastChannel; when that tab closes, the
  // lock passes to another tab, which opens the stream. Without Web Locks (plain http on a non-local
  // host) each tab opens its own stream. A refused or broken stream leaves the badge on POLLING:
  // the pages' own intervals keep them current, and the stream is tried again later.
  const LOCK = "cockpit-live";
  const REFUSED_RETRY_MS = 30000; // the server's Retry-After for a refused stream
  const MAX_RETRY_MS = 120000;
  let source = null;
  let started = false;
  let channel = null;
  let liveState = "connecting";
  let refusals = 0;

  function setLive(state) {
    liveState = state;
    // Says how the page is updated, never "LIVE" (that read as live trading; the mode badge says that).
    const colour = { live: "info", connecting: "warning", polling: "secondary" }[state];
    const label = { live: "⇅ Push: connected", connecting: "… Push: connecting", polling: "↻ Push: polling" }[state];
    window.dash_clientside.set_props("shell-live-badge", { children: label, color: colour });
  }

  function deliver(data) {
    // The page's auto-refresh choice (refresh.js) decides whether a pushed event refreshes it.
    const refresh = window.cockpitRefresh;
    if (refresh && !refresh.pushAllowed()) {
      refresh.held += 1;
      return;
    }
    window.dash_clientside.set_props("live-events", { data: data });
  }

  function announce(message) {
    if (channel !== null) {
      channel.postMessage(message);
    }
  }

  function leaderState(state) {
    setLive(state);
    announce({ kind: "state", state: state });
  }

  function openSource() {
    leaderState("connecting");
    source = new EventSource("/events/stream");
    source.addEventListener("hello", function () {
      refusals = 0;
      leaderState("live");
    });
    source.addEventListener("cockpit", function (event) {
      const data = JSON.parse(event.data);
      leaderState("live");
      deliver(data);
      announce({ kind: "event", data: data });
    });
    source.onerror = function () {
      leaderState("polling");
      if (source.readyState === EventSource.CLOSED) {
        // Refused (429/503: a cap is reached) or not a stream at all: the browser will not retry
        // by itself. Try again later, spread out so that many tabs do not come back together.
        source.close();
        source = null;
        refusals += 1;
        const wait = Math.min(MAX_RETRY_MS, REFUSED_RETRY_MS * Math.pow(2, refusals - 1));
        window.setTimeout(openSource, wait * (0.75 + Math.random() * 0.5));
      }
    };
  }

  function follow() {
    // Relayed events from the tab that holds the stream; ask it for its state once.
    channel.onmessage = function (message) {
      const m = message.data || {};
      if (m.kind === "event") {
        setLive("live");
        deliver(m.data);
      } else if (m.kind === "state") {
        setLive(m.state);
      } else if (m.kind === "ask" && source !== null) {
        announce({ kind: "state", state: liveState });
      }
    };
    announce({ kind: "ask" });
  }

  function startStream() {
    if (started || typeof EventSource === "undefined") {
      return;
    }
    started = true;
    setLive("connecting");
    const shared = typeof BroadcastChannel !== "undefined" && navigator.locks && navigator.locks.request;
    if (!shared) {
      openSource();
      return;
    }
    channel = new BroadcastChannel(LOCK);
    follow();
    // Held until the tab closes: the promise never resolves.
    navigator.locks.request(LOCK, function () {
      openSource();
      return new Promise(function () {});
    });
  }

  // ---------------------------------------------------------------- busy server: retry, tell
  // When every page slot of the web process is taken the server answers a callback 503 with
  // Retry-After at once instead of queueing it (dashapp/security/capacity.py). Dash's renderer
  // would drop that update with a console error; here the request is sent again after the pause the
  // server asked for (with jitter), a few times, while a small notice says what is happening.
  const RETRIED_PATHS = ["/_dash-update-component", "/_dash-layout", "/_dash-dependencies"];
  const BUSY_RETRIES = 5;
  const nativeFetch = window.fetch ? window.fetch.bind(window) : null;
  let busyCount = 0;

  function busyNotice(show) {
    let note = document.getElementById("cockpit-busy");
    if (show && note === null && document.body) {
      note = document.createElement("div");
      note.id = "cockpit-busy";
      note.className = "alert alert-warning position-fixed bottom-0 end-0 m-3 py-1 px-2 small shadow";
      note.setAttribute("role", "status");
      note.style.zIndex = "2000";
      note.textContent = "The cockpit is busy; retrying\u2026";
      document.body.appendChild(note);
    }
    if (note !== null) {
      note.hidden = !show;
    }
  }

  function pause(ms) {
    return new Promise(function (resolve) { window.setTimeout(resolve, ms); });
  }

  if (nativeFetch !== null) {
    window.fetch = async function (input, init) {
      const url = typeof input === "string" ? input : (input && input.url) || "";
      if (!RETRIED_PATHS.some(function (p) { return url.indexOf(p) !== -1; })) {
        return nativeFetch(input, init);
      }
      for (let attempt = 0; ; attempt += 1) {
        const response = await nativeFetch(typeof input === "string" ? input : input.clone(), init);
        if (response.status !== 503 || attempt >= BUSY_RETRIES) {
          if (attempt > 0) {
            busyCount -= 1;
            busyNotice(busyCount > 0 || response.status === 503);
          }
          return response;
        }
        if (attempt === 0) {
          busyCount += 1;
        }
        busyNotice(true);
        const seconds = Math.min(10, parseFloat(response.headers.get("Retry-After")) || 1);
        await pause(seconds * 1000 * (1 + Math.random() * 0.5));
      }
    };
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
            if (window.cockpitDesk && window.cockpitDesk.hold(gridId)) {
              return window.dash_clientside.no_update; // frozen by the desk (desk.js replays it)
            }
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
