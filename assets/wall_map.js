/* The wall map: districts (or one district's sub-districts), their labels, and every venue, drawn
   by deck.gl (vendored from pydeck, loaded only when a map is on the page).

   Dash sends a small spec per refresh (colours, labels, version); the venue positions come once
   from /wall-data/venues.bin (binary, ETag) and afterwards only the per-venue numbers that changed
   (/wall-data/numbers.bin?since=). Colour and size buffers are double-buffered: a wall left open
   for days allocates nothing per tick. Tests and the bench read window.placecodeWall.state(). */
(function () {
  "use strict";
  const DECK_SRC = "/assets/vendor/deckgl/deck.min.js";
  const FONT = '"Noto Sans SC", "Noto Sans CJK SC", sans-serif';
  const THEMES = {
    dark: {line: [11, 15, 23, 255], home: [255, 225, 77, 255], text: [242, 245, 250, 255],
           halo: [11, 15, 23, 255], dim: [40, 48, 62, 255], venueDim: [120, 140, 170, 150]},
    light: {line: [255, 255, 255, 255], home: [200, 120, 0, 255], text: [20, 24, 32, 255],
            halo: [255, 255, 255, 255], dim: [225, 229, 235, 255], venueDim: [90, 100, 120, 150]},
  };
  const scriptLoads = {};
  function scale() { return window.innerWidth >= 3000 ? 2 : 1; }  /* 3840×2160 walls */
  const W = {deck: null, el: null, spec: null, v: null, areas: {}, focus: undefined,
             firstDrawMs: null, updates: 0, fullUpdates: 0, positionLoads: 0, frames: 0, error: null, busy: false, cards: new Map(),
             loadFailures: 0};

  /* A library the wall needs, loaded once. A load that fails (a server too busy to answer, a
     dropped connection) is forgotten, so the next call tries again instead of failing for good:
     a wall left alone must come back by itself. */
  function loadScript(src, loaded) {
    if (loaded()) return Promise.resolve();
    if (!scriptLoads[src]) {
      scriptLoads[src] = new Promise(function (ok, fail) {
        const s = document.createElement("script");
        s.src = src;
        s.async = true;
        s.onload = function () {
          if (loaded()) ok(); else fail(new Error(src + " loaded, but its library is missing"));
        };
        s.onerror = function () { s.remove(); fail(new Error("did not load: " + src)); };
        document.head.appendChild(s);
      }).catch(function (err) {
        delete scriptLoads[src];
        W.loadFailures += 1;
        throw err;
      });
    }
    return scriptLoads[src];
  }

  function loadDeck() {
    return loadScript(DECK_SRC, function () { return !!window.deck; });
  }

  /* plotly.js for the trends panel, retried with backoff (1 s, 2 s ... 30 s) until it is there.
     Dash's own loader gives up after 30 s for good; the trend graphs are made only once this
     has resolved, so that loader never runs. */
  function plotlyReady() {
    return new Promise(function (ok) {
      let attempt = 0;
      (function next() {
        loadScript(window._dashPlotlyJSURL, function () { return !!window.Plotly; }).then(
          function () { ok(true); },
          function () { setTimeout(next, Math.min(30000, 1000 * Math.pow(2, attempt++))); });
      })();
    });
  }

  async function fetchOk(url) {
    const r = await fetch(url, {credentials: "same-origin"});
    if (!r.ok) throw new Error(url.split("?")[0] + ": HTTP " + r.status);
    return r;
  }

  /* The venue positions as typed arrays over the response buffer (no copy). */
  async function fetchPositions() {
    W.positionLoads += 1;
    const r = await fetchOk("/wall-data/venues.bin");
    const n = Number(r.headers.get("X-Venue-Count"));
    const kinds = (r.headers.get("X-Venue-Kinds") || "").split(",");
    const colours = (r.headers.get("X-Venue-Colours") || "").split(",");
    const palette = kinds.map(function (k, i) {
      return {kind: k, rgb: rgba(colours[i], 255).slice(0, 3)};
    });
    const buf = await r.arrayBuffer();
    return {n: n, kinds: kinds, palette: palette, positions: new Float32Array(buf, 0, 2 * n),
            kind: new Uint8Array(buf, 8 * n, n), scans: new Uint32Array(n),
            red: new Int32Array(n), yellow: new Int32Array(n),
            colours: [new Uint8Array(4 * n), new Uint8Array(4 * n)],
            radii: [new Float32Array(n), new Float32Array(n)], flip: 0,
            day: null, seq: null, version: null};
  }

  /* Per-venue numbers of a day (all, or those changed after `since`). */
  async function fetchNumbers(day, since) {
    const url = "/wall-data/numbers.bin?" + (day ? "day=" + day : "") +
      (since ? "&since=" + since : "");
    const r = await fetchOk(url);
    const count = Number(r.headers.get("X-Count"));
    const buf = await r.arrayBuffer();
    return {day: r.headers.get("X-Day"), seq: r.headers.get("X-Seq"),
            full: r.headers.get("X-Full") === "1",
            stale: r.headers.get("X-Positions-Stale") === "1",
            index: new Uint32Array(buf, 0, count), scans: new Uint32Array(buf, 4 * count, count),
            red: new Int32Array(buf, 8 * count, count),
            yellow: new Int32Array(buf, 12 * count, count)};
  }

  function applyNumbers(got, version) {
    const v = W.v;
    if (got.full) { v.scans.fill(0); v.red.fill(0); v.yellow.fill(0); }
    for (let i = 0; i < got.index.length; i++) {
      const j = got.index[i];
      v.scans[j] = got.scans[i]; v.red[j] = got.red[i]; v.yellow[j] = got.yellow[i];
    }
    v.day = got.day;
    v.seq = got.seq;
    v.version = version;
    W.updates += 1;
    if (got.full) W.fullUpdates += 1;
  }

  /* Bring the venue layer to the spec's day and version: the first time from the prefetch,
     then only what changed. Positions are fetched again only if the registry changed. */
  async function syncVenues(spec) {
    try {  // a failed prefetch is dropped: the next refresh fetches anew
      if (!W.v) W.v = await (W.prefetch ? W.prefetch.positions : fetchPositions());
    } catch (err) {
      W.prefetch = null;
      throw err;
    }
    if (W.v.day === spec.day && W.v.version === spec.version) return;
    let got = null;
    if (W.prefetch && W.v.day === null) {
      got = await W.prefetch.numbers.catch(function () { return null; });
      if (got && got.day !== spec.day) got = null;
    }
    W.prefetch = null;
    if (!got) got = await fetchNumbers(spec.day, W.v.day === spec.day ? W.v.seq : null);
    if (got.stale) {
      W.v = await fetchPositions();
      got = await fetchNumbers(spec.day, null);
    }
    applyNumbers(got, spec.version);
  }

  /* Colour by kind or by flagged scans, size by today's volume, into the idle buffer pair. */
  function paint(spec) {
    const v = W.v, th = THEMES[spec.theme] || THEMES.dark;
    v.flip = 1 - v.flip;
    const colours = v.colours[v.flip], radii = v.radii[v.flip];
    const palette = v.kinds.map(function (k) {
      const hit = spec.kinds.find(function (x) { return x.kind === k; });
      return hit ? hit.rgb : [160, 160, 160];
    });
    const flagged = spec.venueMode === "flagged", k = scale();
    for (let i = 0; i < v.n; i++) {
      let c;
      if (flagged) {
        c = v.red[i] > 0 ? [255, 70, 80] : v.yellow[i] > 0 ? [255, 192, 107] : th.venueDim;
      } else {
        c = palette[v.kind[i]];
      }
      const o = 4 * i;
      colours[o] = c[0]; colours[o + 1] = c[1]; colours[o + 2] = c[2];
      colours[o + 3] = flagged && v.red[i] <= 0 && v.yellow[i] <= 0 ? 90 : flagged ? 230 : 150;
      radii[i] = k * (0.9 + Math.min(5, Math.sqrt(v.scans[i]) / 8));
    }
  }

  const areaLoads = {};
  async function loadAreas(key) {
    if (!areaLoads[key]) {
      const url = "/wall-data/areas.json" + (key === "city" ? "" : "?district=" + key);
      areaLoads[key] = fetchOk(url).then(function (r) { return r.json(); })
        .then(function (json) { W.areas[key] = json; return json; });
    }
    try {
      return await areaLoads[key];
    } catch (err) {
      delete areaLoads[key];
      throw err;
    }
  }

  function bounds(features) {
    let b = [180, 90, -180, -90];
    features.forEach(function (f) {
      const x = f.properties.bounds;
      b = [Math.min(b[0], x[0]), Math.min(b[1], x[1]), Math.max(b[2], x[2]), Math.max(b[3], x[3])];
    });
    return b;
  }

  function viewFor(b) {
    const w = W.el.clientWidth || 800, h = W.el.clientHeight || 600;
    const pad = Math.round(Math.min(w, h) * 0.04);
    const vp = new deck.WebMercatorViewport({width: w, height: h})
      .fitBounds([[b[0], b[1]], [b[2], b[3]]], {padding: pad});
    return {longitude: vp.longitude, latitude: vp.latitude, zoom: vp.zoom, pitch: 0, bearing: 0};
  }

  function rgba(hex, alpha) {
    const h = (hex || "#3d4450").replace("#", "");
    return [parseInt(h.slice(0, 2), 16), parseInt(h.slice(2, 4), 16), parseInt(h.slice(4, 6), 16),
            alpha];
  }

  /* A venue's name comes from its registration, that is from outside: text, never markup. */
  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  function tooltip(info) {
    const tip = W.el && W.el.querySelector(".wall-map-tip");
    if (!tip) return;
    const spec = W.spec, text = spec.text;
    W.hover = info && info.picked ? info : null;
    if (!info || !info.picked) { tip.style.display = "none"; return; }
    let html = null;
    if (info.layer.id === "venues") {
      const v = W.v, i = info.index, kind = v.kinds[v.kind[i]];
      const k = spec.kinds.find(function (x) { return x.kind === kind; });
      const card = W.cards.get(i);
      html = "<b>" + (card ? escapeHtml(card.name) : "…") + "</b><br>" +
        escapeHtml((k && k.label) || kind || "") + "<br>" +
        text.scans + " " + v.scans[i].toLocaleString() +
        (v.red[i] >= 0 ? " · " + text.red + " " + v.red[i] + " · " + text.yellow + " " +
         v.yellow[i] : "");
      if (!card) {  /* the name comes from the server once, then the card is redrawn */
        fetchOk("/wall-data/venue/" + i + "?day=" + spec.day).then(function (r) { return r.json(); })
          .then(function (c) {
            if (W.cards.size > 500) W.cards.clear();
            W.cards.set(i, c);
            if (W.hover && W.hover.index === i && W.hover.layer.id === "venues") tooltip(W.hover);
          }).catch(function () {});
      }
    } else if (info.object && info.object.properties) {
      const a = (info.layer.id === "subdistricts" ? spec.sub : spec.areas) || {};
      const hit = a[String(info.object.properties.id)];
      html = hit ? hit.tip : null;
    }
    if (!html) { tip.style.display = "none"; return; }
    tip.innerHTML = html;
    tip.style.display = "block";
    tip.style.left = (info.x + 16) + "px";
    tip.style.top = (info.y + 16) + "px";
  }

  /* A click on a district zooms to it (venues on top do not get in the way); a click outside
     the city, or on the district already shown, goes back to the whole city. The DOM's click
     is used, not deck.gl's tap, which drops a click whose press lasts over 250 ms (a busy
     kiosk); a press that moved more than a few pixels was a pan, not a click. */
  function listenForClicks(el) {
    let down = null;
    el.addEventListener("pointerdown", function (e) { down = [e.clientX, e.clientY]; });
    el.addEventListener("click", function (e) {
      if (!down || Math.hypot(e.clientX - down[0], e.clientY - down[1]) > 6) return;
      const box = el.getBoundingClientRect();
      clicked({x: e.clientX - box.left, y: e.clientY - box.top});
    });
  }

  function clicked(info) {
    const hit = W.deck.pickObject({x: info.x, y: info.y, layerIds: ["districts"]});
    const id = hit && hit.object ? hit.object.properties.id : null;
    if (id !== null && id !== W.focus) setFocus(id);
    else if (id === null && W.focus !== null) setFocus(null);
  }

  function setFocus(id) {
    if (window.dash_clientside && window.dash_clientside.set_props) {
      window.dash_clientside.set_props("wall-focus", {data: id});
    }
  }

  function areaLayer(id, data, colours, spec, alpha) {
    const th = THEMES[spec.theme] || THEMES.dark;
    return new deck.GeoJsonLayer({
      id: id, data: data, pickable: true, stroked: true, filled: true,
      getFillColor: function (f) {
        const a = colours[String(f.properties.id)];
        return rgba(a ? a.fill : null, alpha);
      },
      getLineColor: function (f) { return f.properties.id === spec.home ? th.home : th.line; },
      getLineWidth: function (f) { return (f.properties.id === spec.home ? 5 : 1.5) * scale(); },
      lineWidthUnits: "pixels",
      updateTriggers: {getFillColor: [spec.version, spec.metric, spec.focus],
                       getLineColor: spec.home, getLineWidth: spec.home},
    });
  }

  function labelLayer(id, data, colours, spec) {
    const th = THEMES[spec.theme] || THEMES.dark;
    const rows = data.features.filter(function (f) {
      const a = colours[String(f.properties.id)];
      return a && a.label;
    }).map(function (f) {
      return {position: f.properties.label, text: colours[String(f.properties.id)].label};
    });
    return new deck.TextLayer({
      id: id, data: rows, characterSet: "auto", fontFamily: FONT, fontWeight: 700,
      getPosition: function (d) { return d.position; }, getText: function (d) { return d.text; },
      getSize: 22 * scale(), getColor: th.text, lineHeight: 1.15,
      fontSettings: {sdf: true}, outlineWidth: 4, outlineColor: th.halo,
      updateTriggers: {getText: [spec.version, spec.metric, spec.lang]},
    });
  }

  function layers(spec) {
    const out = [];
    const city = W.areas.city;
    const focused = spec.focus !== null && W.areas[spec.focus];
    if (city) {
      out.push(areaLayer("districts", city, spec.areas, spec,
                         focused ? 70 : 235));
    }
    if (focused) {
      out.push(areaLayer("subdistricts", W.areas[spec.focus], spec.sub || {}, spec,
                         235));
    }
    const v = W.v;
    if (v && v.day) {
      out.push(new deck.ScatterplotLayer({
        id: "venues", pickable: true, radiusUnits: "pixels", stroked: false,
        data: {length: v.n, attributes: {
          getPosition: {value: v.positions, size: 2},
          getFillColor: {value: v.colours[v.flip], size: 4, normalized: true},
          getRadius: {value: v.radii[v.flip], size: 1},
        }},
      }));
    }
    if (focused) {
      out.push(labelLayer("labels", W.areas[spec.focus], spec.sub || {}, spec));
    } else if (city) {
      out.push(labelLayer("labels", city, spec.areas, spec));
    }
    return out;
  }

  function ensureDeck(el, spec) {
    if (W.deck && W.el === el) return;
    if (W.deck) W.deck.finalize();
    W.el = el;
    W.focus = undefined;
    const tip = document.createElement("div");
    tip.className = "wall-map-tip";
    el.appendChild(tip);
    listenForClicks(el);
    W.deck = new deck.Deck({
      parent: el, controller: true, useDevicePixels: true,
      initialViewState: viewFor(bounds(W.areas.city.features)),
      style: {position: "absolute", inset: "0"},
      onHover: tooltip,
      onAfterRender: function () {
        W.frames += 1;
        if (W.firstDrawMs === null && W.v && W.v.day) {
          const venues = W.deck.props.layers.find(function (l) { return l.id === "venues"; });
          if (venues && venues.isLoaded) W.firstDrawMs = Math.round(performance.now());
        }
      },
    });
    W.deck.setProps({layers: layers(spec)});
  }

  function message(el, text) {
    let box = el.querySelector(".wall-map-msg");
    if (!box) { box = document.createElement("div"); box.className = "wall-map-msg"; el.appendChild(box); }
    box.textContent = text || "";
    box.style.display = text ? "block" : "none";
  }

  async function render(spec) {
    const el = document.getElementById(spec.target);
    if (!el) return;
    W.spec = spec;
    if (W.busy) return;  // the next spec is taken up when this one is done
    W.busy = true;
    try {
      await loadDeck();
      await loadAreas("city");
      if (document.fonts && document.fonts.load) {
        const sample = Object.values(spec.areas).map(function (a) { return a.label; }).join("");
        await document.fonts.load('700 22px "Noto Sans SC"', sample || "区").catch(function () {});
      }
      ensureDeck(el, spec);
      if (spec.focus !== null) await loadAreas(spec.focus);
      if (spec.focus !== W.focus) {
        const target = spec.focus !== null ? W.areas[spec.focus] : W.areas.city;
        W.deck.setProps({initialViewState: Object.assign(viewFor(bounds(target.features)), {
          transitionDuration: W.focus === undefined ? 0 : 1200,
          transitionInterpolator: new deck.FlyToInterpolator()})});
        W.focus = spec.focus;
      }
      await syncVenues(spec);
      paint(spec);
      W.deck.setProps({layers: layers(spec)});
      W.drawn = spec;
      W.error = null;
      message(el, "");
    } catch (err) {
      W.error = String(err.message || err);
      message(el, (spec.text.error || "") + " " + W.error);
    } finally {
      W.busy = false;
    }
    if (W.spec !== spec) render(W.spec);
  }

  /* On the wall page, start every download at once, while Dash is still starting. */
  if (location.pathname === "/" || location.pathname === "/wall") {
    loadDeck().catch(function () {});
    loadAreas("city").catch(function () {});
    W.prefetch = {positions: fetchPositions(), numbers: fetchNumbers(null, null)};
    W.prefetch.positions.catch(function () {});
    W.prefetch.numbers.catch(function () {});
    bootWhenReady(W.prefetch);
  }

  /* Draw the venues as soon as their data and the map's box are there, without waiting for
     Dash's first refresh: districts in a neutral grey until it brings their colours. */
  function bootWhenReady(prefetch) {
    Promise.all([loadDeck(), loadAreas("city"), prefetch.positions, prefetch.numbers])
      .then(function (got) {
        function attempt() {
          if (W.spec) return;  // Dash was first
          const el = document.getElementById("wall-map");
          if (!el) { requestAnimationFrame(attempt); return; }
          render({target: "wall-map", day: got[3].day, version: "boot", metric: "scans",
                  venueMode: "kind", lang: "zh", areas: {}, sub: null, focus: null, home: null,
                  theme: el.classList.contains("wall-map-light") ? "light" : "dark",
                  kinds: got[2].palette, text: {scans: "", red: "", yellow: "", error: ""}});
        }
        attempt();
      }).catch(function () {});
  }

  window.placecodeWall = {
    render: render,
    loadDeck: loadDeck,  /* shared with the desk maps (spec_map.js) */
    /* Page pixel of a lon/lat on the map (tests click districts with it). */
    project: function (lon, lat) {
      const xy = W.deck.getViewports()[0].project([lon, lat]);
      const box = W.el.getBoundingClientRect();
      return [box.left + xy[0], box.top + xy[1]];
    },
    /* Hover the venue at a layer index, as the pointer would (tests check the card with it). */
    hover: function (index) {
      tooltip({picked: true, index: index, layer: {id: "venues"}, x: 40, y: 40});
    },
    state: function () {
      const venues = W.deck && W.deck.props.layers.find(function (l) { return l.id === "venues"; });
      const colours = {};
      /* What is on the screen: the last spec drawn, not one still waiting for its turn. */
      const spec = W.drawn || {areas: {}};
      Object.keys(spec.areas || {}).forEach(function (k) { colours[k] = spec.areas[k].fill; });
      let total = 0;
      if (W.v) for (let i = 0; i < W.v.n; i++) total += W.v.scans[i];
      return {venues: venues ? venues.props.data.length : 0, venueMode: spec.venueMode,
              ready: !!W.drawn && W.drawn === W.spec && !W.busy,
              version: W.drawn ? W.drawn.version : null,
              home: spec.home === undefined ? null : spec.home, theme: spec.theme,
              districtColours: colours, focus: W.focus === undefined ? null : W.focus,
              subAreas: spec.sub ? Object.keys(spec.sub).length : 0,
              firstDrawMs: W.firstDrawMs,
              frames: W.frames, updates: W.updates, fullUpdates: W.fullUpdates,
              positionLoads: W.positionLoads, scansShown: total, loadFailures: W.loadFailures,
              error: W.error, labels: (W.deck && W.deck.props.layers.find(function (l) {
                return l.id === "labels"; }) || {props: {data: []}}).props.data.map(
                function (d) { return d.text; })};
    },
  };

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    wall: {
      drawMap: function (spec) {
        if (spec) render(spec);
        return window.dash_clientside.no_update;
      },
      /* True once plotly.js is there (the trends panel's graphs are made then). */
      plotlyReady: function (settings) {
        const panels = (settings && settings.panels) || [];
        return panels.indexOf("trends") < 0 ? window.dash_clientside.no_update : plotlyReady();
      },
      /* Kiosk rotation: the next panel every `rotate` seconds (wall-panels show-<panel>). */
      rotate: function (n, settings) {
        const panels = (settings && settings.panels) || ["map"];
        return "wall-panels show-" + panels[(n || 0) % panels.length];
      },
    },
  });
})();
