// The phone scan page (/s/<code>): register once, then every visit submits a scan by itself and
// shows the verdict full screen. The phone keeps only the token the server gave it.
(function () {
  "use strict";
  var page = document.getElementById("scan-page");
  var code = page.dataset.code, lang = page.dataset.lang;
  var T = JSON.parse(document.getElementById("front-text").textContent);
  var KEY = "placecode.phone.token";
  var $ = function (id) { return document.getElementById(id); };

  function show(id) {
    ["working", "register", "verdict", "scan-error"].forEach(function (x) {
      $(x).hidden = x !== id;
    });
  }

  function post(url, body) {
    return fetch(url + "?lang=" + lang, {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify(body), credentials: "same-origin"
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        return {status: r.status, data: data};
      });
    });
  }

  function clock() {
    var now = new Date();
    $("verdict-clock").textContent = now.toLocaleString(lang === "zh" ? "zh-CN" : "en-GB",
      {month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit"});
  }

  function verdict(data) {
    var v = data.verdict;
    document.body.className = "front verdict-" + v;
    $("verdict").className = "verdict verdict-" + v;
    $("verdict-word").textContent = T["phone_verdict_" + v + "_word"];
    $("verdict-title").textContent = T["phone_verdict_" + v];
    var list = $("verdict-reasons");
    list.textContent = "";
    (data.reasons || []).forEach(function (r) {
      var li = document.createElement("li");
      li.textContent = lang === "zh" ? r.message_zh : r.message_en;
      list.appendChild(li);
    });
    clock();
    setInterval(clock, 1000);  // a live clock: a screenshot of an old green screen shows its age
    show("verdict");
  }

  function failed(data, status) {
    if (status === 401) { localStorage.removeItem(KEY); return start(); }
    $("scan-error").textContent = (data.error && data.error.message) || T.phone_busy;
    show("scan-error");
  }

  function scan() {
    show("working");
    var visit = sessionStorage.getItem("placecode.visit." + code);
    if (!visit) {  // one visit, one scan: a reload resends the same scan, not a second one
      visit = Math.random().toString(36).slice(2, 12) + Date.now().toString(36);
      sessionStorage.setItem("placecode.visit." + code, visit);
    }
    post("/s/" + encodeURIComponent(code) + "/scan",
         {token: localStorage.getItem(KEY), visit: visit})
      .then(function (r) { return r.status === 200 ? verdict(r.data) : failed(r.data, r.status); })
      .catch(function () { failed({}, 0); });
  }

  function start() {
    if (localStorage.getItem(KEY)) { return scan(); }
    show("register");
    $("id-number").focus();
  }

  $("register").addEventListener("submit", function (ev) {
    ev.preventDefault();
    $("register-submit").disabled = true;
    $("register-error").hidden = true;
    post("/s/register", {id_number: $("id-number").value, phone: $("phone").value})
      .then(function (r) {
        $("register-submit").disabled = false;
        if (r.status === 200 && r.data.token) {
          localStorage.setItem(KEY, r.data.token);
          $("id-number").value = "";
          return scan();
        }
        $("register-error").textContent = (r.data.error && r.data.error.message) || T.phone_busy;
        $("register-error").hidden = false;
        var field = r.data.error && r.data.error.field;
        if (field) { $(field === "phone" ? "phone" : "id-number").focus(); }
      })
      .catch(function () {
        $("register-submit").disabled = false;
        $("register-error").textContent = T.phone_busy;
        $("register-error").hidden = false;
      });
  });

  $("forget").addEventListener("click", function (ev) {
    ev.preventDefault();
    localStorage.removeItem(KEY);
    sessionStorage.clear();
    document.body.className = "front";
    start();
  });

  start();
})();
