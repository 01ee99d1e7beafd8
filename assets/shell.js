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
});

/* Kiosk mode for wall displays (/wall?kiosk=1): no navigation chrome, the page fills the screen.
   Kept for the whole visit, so Dash's own page changes do not bring the chrome back. */
(function () {
  if (new URLSearchParams(window.location.search).get("kiosk") === "1") {
    document.documentElement.classList.add("kiosk");
  }
})();
