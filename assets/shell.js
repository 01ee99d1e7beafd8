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
