// The attended gate (/sentinel/<code>): the device token is entered once and kept; each person's
// card number, temperature and mask go to POST /api/v1/scans, and the verdict fills the screen.
(function () {
  "use strict";
  var page = document.getElementById("sentinel-page");
  var code = page.dataset.code, lang = page.dataset.lang;
  var T = JSON.parse(document.getElementById("front-text").textContent);
  var KEY = "placecode.sentinel.token";
  var $ = function (id) { return document.getElementById(id); };

  function show(id) {
    ["device", "check", "verdict"].forEach(function (x) { $(x).hidden = x !== id; });
    document.body.className = "front sentinel";
  }

  function problem(id, message) { $(id).textContent = message; $(id).hidden = !message; }

  function start() {
    if (!localStorage.getItem(KEY)) { show("device"); return $("device-token").focus(); }
    show("check");
    $("person").value = "";
    $("temperature").value = "";
    problem("check-error", "");
    $("person").focus();
  }

  function reading() {
    var text = $("temperature").value.trim().replace(",", ".");
    if (!text) { return null; }
    var value = Number(text);
    return isFinite(value) ? value : NaN;
  }

  $("device").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var token = $("device-token").value.trim();
    if (!token) { return problem("device-error", T.sentinel_device_missing); }
    localStorage.setItem(KEY, token);
    $("device-token").value = "";
    start();
  });

  $("check").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var person = $("person").value.replace(/\s+/g, "").toUpperCase();
    if (person.length < 4) { return problem("check-error", T.sentinel_number_missing); }
    var temperature = reading();
    if (Number.isNaN(temperature) || (temperature !== null &&
        (temperature < 30 || temperature > 45))) {
      return problem("check-error", T.sentinel_temperature_bad);
    }
    var credential = document.querySelector("input[name=credential]:checked").value;
    var scan = {scan_id: "gate-" + code + "-" + Date.now().toString(36) +
                  Math.random().toString(36).slice(2, 8),
                venue_code: code, person: person, ts: new Date().toISOString(),
                mask: $("mask").checked, credential: credential};
    if (temperature !== null) { scan.temperature_c = temperature; }
    $("check-submit").disabled = true;
    fetch("/api/v1/scans", {method: "POST", body: JSON.stringify(scan), headers: {
      "Content-Type": "application/json", "Authorization": "Bearer " + localStorage.getItem(KEY)}})
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (data) {
          $("check-submit").disabled = false;
          if (r.status === 401 || r.status === 403) {
            localStorage.removeItem(KEY);
            show("device");
            return problem("device-error", T.sentinel_device_refused);
          }
          if (r.status !== 200 && r.status !== 201) {
            return problem("check-error", (data.error && data.error.message) || T.sentinel_busy);
          }
          var v = data.verdict;
          $("person").value = "";
          document.body.className = "front sentinel verdict-" + v;
          $("verdict").className = "verdict verdict-" + v;
          $("verdict-word").textContent = T["phone_verdict_" + v + "_word"];
          $("verdict-title").textContent = T["phone_verdict_" + v];
          var list = $("verdict-reasons");
          list.textContent = "";
          (data.reasons || []).forEach(function (x) {
            var li = document.createElement("li");
            li.textContent = lang === "zh" ? x.message_zh : x.message_en;
            list.appendChild(li);
          });
          ["device", "check"].forEach(function (x) { $(x).hidden = true; });
          $("verdict").hidden = false;
          $("next").focus();
        });
      })
      .catch(function () { $("check-submit").disabled = false;
                           problem("check-error", T.sentinel_busy); });
  });

  $("next").addEventListener("click", start);
  $("forget").addEventListener("click", function (ev) {
    ev.preventDefault(); localStorage.removeItem(KEY); start();
  });
  start();
})();
