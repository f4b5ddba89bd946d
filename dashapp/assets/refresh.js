// Auto-refresh per page (live / 5 s / 30 s / 60 s / off): sets the page's own dcc.Interval
// components (listed server-side in layouts/refresh.py). Served from /assets (CSP script-src 'self').
(function () {
  const MS = { live: null, "5s": 5000, "30s": 30000, "60s": 60000, off: 0 };
  const chosen = {}; // page key -> choice made in this tab since the page load (the store holds the rest)

  function pageOf(pathname, map) {
    return (map || {})[pathname || "/"] || null;
  }

  // The choice in force on the page on screen (null: a page with no refresh choice). Pushed events
  // refresh a page only on "live": "off" means off, and 5 s / 30 s / 60 s mean that cadence
  // (cockpit.js asks before it hands an event to the page; the refresh button always works).
  let current = null;
  window.cockpitRefresh = {
    pushAllowed: function () { return current === null || current === "live"; },
    held: 0, // pushed events not handed to the page because of the choice (read by tests)
  };

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    cockpitRefresh: {
      // The select shows the choice remembered for the page now on screen.
      choiceForPage: function (_content, pathname, prefs, map) {
        const page = pageOf(pathname, map);
        if (!page) {
          current = null;
          return [window.dash_clientside.no_update, true];
        }
        const stored = ((prefs || {}).refresh || {})[page.page];
        return [chosen[page.page] || stored || "live", false];
      },
      // Apply a choice to the page's intervals; "live" gives them back their own cadence.
      apply: function (choice, pathname, map) {
        const page = pageOf(pathname, map);
        if (!page || !(choice in MS)) {
          return window.dash_clientside.no_update;
        }
        chosen[page.page] = choice;
        current = choice;
        const ms = MS[choice];
        page.intervals.forEach(function (entry) {
          try {
            window.dash_clientside.set_props(entry[0], { interval: ms || entry[1], disabled: ms === 0 });
          } catch (err) { /* the page has moved on; the next page applies its own */ }
        });
        return page.page + ":" + choice;
      },
      // The refresh button: one tick of each of the page's intervals, whatever the choice.
      now: function (clicks, pathname, map) {
        const page = pageOf(pathname, map);
        if (!page || !clicks) {
          return window.dash_clientside.no_update;
        }
        page.intervals.forEach(function (entry) {
          try {
            window.dash_clientside.set_props(entry[0], { n_intervals: Date.now() });
          } catch (err) { /* not on this page any more */ }
        });
        return page.page + ":now:" + clicks;
      },
    },
  });
})();
