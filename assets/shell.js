/* Shell UI that runs in the browser: remember the chosen language in a cookie, so that the next
   page load (and the login page) start in it. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  shell: {
    rememberLang: function (lang) {
      if (lang === "zh" || lang === "en") {
        document.cookie = "placecode_lang=" + lang + "; path=/; max-age=31536000; samesite=lax";
      }
      return lang;
    },
  },
  /* The venue search: a new search (or language) drops the grid's cached blocks; the grid then
     asks again. */
  venues: {
    purge: function (filters, lang, gridId) {
      if (window.dash_ag_grid && window.dash_ag_grid.getApiAsync) {
        window.dash_ag_grid.getApiAsync(gridId).then(function (api) {
          api.purgeInfiniteCache();
          api.ensureIndexVisible(0, "top");
        });
      }
      return Date.now();
    },
  },
  /* The field staff page: the phone's position with "present" (none if the phone will not
     tell). Here, not inline in the page, so the Content-Security-Policy needs no inline code. */
  field: {
    position: async function (n) {
      if (!n) { return window.dash_clientside.no_update; }
      const at = await new Promise(function (ok) {
        if (!navigator.geolocation) { ok(null); return; }
        navigator.geolocation.getCurrentPosition(
          function (p) { ok([p.coords.longitude, p.coords.latitude]); },
          function () { ok(null); }, {timeout: 5000});
      });
      return {n: n, lon: at ? at[0] : null, lat: at ? at[1] : null};
    },
  },
});

/* Kiosk mode for wall displays (/wall?kiosk=1): no navigation chrome, the page fills the screen.
   Kept for the whole visit, so Dash's own page changes do not bring the chrome back. */
(function () {
  if (new URLSearchParams(window.location.search).get("kiosk") === "1") {
    document.documentElement.classList.add("kiosk");
  }
})();
