/* Desk maps (trace, venue search, a venue's page): the city's districts as the base map, points,
   paths and a TripsLayer playback, drawn by the same vendored deck.gl as the wall.

   Dash hands a spec to window.placecodeMaps.render(spec) through a clientside callback:
     {target, theme, points: [{lon, lat, r, colour: [r,g,b,a], tip}], paths: [{path, colour}],
      trips: [{path: [[lon, lat]], times: [seconds], colour, name}],
      playback: {start, end, speed, trail, autoplay, loop, controls}, text: {...}}
   Times are seconds on the city's clock (shown with UTC functions, so no time-zone shift).
   Tests read window.placecodeMaps.state(target). */
(function () {
  "use strict";
  const maps = {};
  const SPEEDS = [60, 600, 3600, 6 * 3600];          // seconds of playback per real second
  const TRAILS = [3600, 6 * 3600, 86400, 3 * 86400];  // how long a trail stays visible
  const BASE = {dark: {fill: [26, 34, 48, 255], line: [70, 86, 110, 255]},
                light: {fill: [236, 239, 243, 255], line: [170, 178, 190, 255]}};

  function deckReady() {
    return window.placecodeWall.loadDeck();
  }

  const areas = {};
  /* District outlines (key "city") or one district's sub-districts (key = its id), once. */
  function loadAreas(key) {
    key = key || "city";
    if (!areas[key]) {
      const url = "/wall-data/areas.json" + (key === "city" ? "" : "?district=" + key);
      areas[key] = fetch(url, {credentials: "same-origin"}).then(function (r) {
        if (!r.ok) { delete areas[key]; throw new Error("areas.json: HTTP " + r.status); }
        return r.json();
      });
    }
    return areas[key];
  }

  function bounds(spec) {
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    function add(p) {
      x0 = Math.min(x0, p[0]); y0 = Math.min(y0, p[1]);
      x1 = Math.max(x1, p[0]); y1 = Math.max(y1, p[1]);
    }
    (spec.points || []).forEach(function (p) { add([p.lon, p.lat]); });
    (spec.heat || []).forEach(function (p) { add([p.lon, p.lat]); });
    if (spec.choropleth && spec.choropleth.features) {
      spec.choropleth.features.forEach(function (f) {
        const b = f.properties.bounds; add([b[0], b[1]]); add([b[2], b[3]]);
      });
    }
    (spec.trips || []).forEach(function (t) { t.path.forEach(add); });
    return x0 === Infinity ? null : [[x0, y0], [x1, y1]];
  }

  function viewFor(el, box, fallback) {
    box = box || fallback;
    const w = el.clientWidth || 800, h = el.clientHeight || 500;
    const pad = 0.15 * Math.max(box[1][0] - box[0][0], box[1][1] - box[0][1], 0.01);
    const vp = new deck.WebMercatorViewport({width: w, height: h}).fitBounds(
      [[box[0][0] - pad, box[0][1] - pad], [box[1][0] + pad, box[1][1] + pad]]);
    return {longitude: vp.longitude, latitude: vp.latitude, zoom: Math.min(vp.zoom, 15),
            pitch: 0, bearing: 0};
  }

  function clock(seconds) {
    const d = new Date(seconds * 1000);
    const two = function (n) { return String(n).padStart(2, "0"); };
    return (d.getUTCMonth() + 1) + "-" + two(d.getUTCDate()) + " " + two(d.getUTCHours()) + ":" +
      two(d.getUTCMinutes());
  }

  function option(value, label, chosen) {
    return '<option value="' + value + '"' + (value === chosen ? " selected" : "") + ">" +
      label + "</option>";
  }

  /* Play/pause, time slider, speed and trail length, under the map. */
  function controls(m) {
    const p = m.spec.playback, tx = m.spec.text || {};
    const bar = document.createElement("div");
    bar.className = "pc-playback";
    bar.innerHTML =
      '<button type="button" class="btn btn-primary pc-play"></button>' +
      '<input type="range" class="form-range pc-time" min="' + p.start + '" max="' + p.end +
      '" step="60">' + '<span class="pc-clock"></span>' +
      '<label>' + (tx.speed || "speed") + ' <select class="form-select pc-speed">' +
      SPEEDS.map(function (s) { return option(s, tx["speed_" + s] || s, p.speed); }).join("") +
      "</select></label>" +
      '<label>' + (tx.trail || "trail") + ' <select class="form-select pc-trail">' +
      TRAILS.map(function (s) { return option(s, tx["trail_" + s] || s, p.trail); }).join("") +
      "</select></label>";
    m.el.parentNode.insertBefore(bar, m.el.nextSibling);
    bar.querySelector(".pc-play").addEventListener("click", function () {
      if (!m.playing && m.t >= p.end) m.t = p.start;
      m.playing = !m.playing;
      tick(m);
    });
    bar.querySelector(".pc-time").addEventListener("input", function (e) {
      m.t = Number(e.target.value);
      draw(m);
    });
    bar.querySelector(".pc-speed").addEventListener("change", function (e) {
      m.speed = Number(e.target.value);
    });
    bar.querySelector(".pc-trail").addEventListener("change", function (e) {
      m.trail = Number(e.target.value);
      draw(m);
    });
    return bar;
  }

  function showTime(m) {
    if (!m.bar) return;
    const tx = m.spec.text || {};
    m.bar.querySelector(".pc-play").textContent = m.playing ? (tx.pause || "❚❚") : (tx.play || "▶");
    m.bar.querySelector(".pc-time").value = String(m.t);
    m.bar.querySelector(".pc-clock").textContent = clock(m.t);
  }

  function tick(m) {
    if (m.raf) cancelAnimationFrame(m.raf);
    let last = performance.now();
    function step(now) {
      if (!m.playing) { m.raf = null; draw(m); return; }
      const p = m.spec.playback;
      m.t += (now - last) / 1000 * m.speed;
      last = now;
      if (m.t > p.end) {
        if (p.loop) { m.t = p.start; m.loops += 1; } else { m.t = p.end; m.playing = false; }
      }
      draw(m);
      m.raf = requestAnimationFrame(step);
    }
    m.raf = requestAnimationFrame(step);
  }

  function layers(m, base) {
    const spec = m.spec, th = BASE[spec.theme] || BASE.dark;
    const out = [new deck.GeoJsonLayer({
      id: "base", data: base, stroked: true, filled: true, getFillColor: th.fill,
      getLineColor: th.line, lineWidthUnits: "pixels", getLineWidth: 1})];
    const ch = spec.choropleth;
    if (ch && ch.features) {
      out.push(new deck.GeoJsonLayer({
        id: "choropleth", data: ch.features, pickable: true, stroked: true, filled: true,
        getFillColor: function (f) { return ch.fill[f.properties.id] || th.fill; },
        getLineColor: [11, 15, 23, 255], lineWidthUnits: "pixels", getLineWidth: 1.5,
        tips: ch.tips || {}, updateTriggers: {getFillColor: ch.version}}));
      out.push(new deck.TextLayer({
        id: "choropleth-labels", data: ch.features.filter(function (f) {
          return ch.labels && ch.labels[f.properties.id]; }),
        getPosition: function (f) { return f.properties.label; },
        getText: function (f) { return ch.labels[f.properties.id]; },
        characterSet: "auto", fontFamily: "Noto Sans SC, sans-serif", fontWeight: 700,
        getSize: 15, getColor: [242, 245, 250, 255], outlineWidth: 3,
        outlineColor: [11, 15, 23, 255], fontSettings: {sdf: true}}));
    }
    if ((spec.heat || []).length) {
      out.push(new deck.HeatmapLayer({
        id: "heat", data: spec.heat, getPosition: function (d) { return [d.lon, d.lat]; },
        getWeight: function (d) { return d.w; }, radiusPixels: 40, intensity: 1,
        threshold: 0.03}));
    }
    if ((spec.paths || []).length) {
      out.push(new deck.PathLayer({
        id: "paths", data: spec.paths, getPath: function (d) { return d.path; },
        getColor: function (d) { return d.colour; }, widthUnits: "pixels", getWidth: 2,
        opacity: 0.45}));
    }
    if ((spec.trips || []).length && spec.playback) {
      const start = spec.playback.start;
      out.push(new deck.TripsLayer({
        id: "trips", data: spec.trips, getPath: function (d) { return d.path; },
        getTimestamps: function (d) { return d.times.map(function (s) { return s - start; }); },
        getColor: function (d) { return d.colour; }, widthUnits: "pixels", getWidth: 6,
        capRounded: true, jointRounded: true, fadeTrail: true,
        trailLength: m.trail, currentTime: m.t - start}));
    }
    if ((spec.points || []).length) {
      out.push(new deck.ScatterplotLayer({
        id: "points", data: spec.points, pickable: true, stroked: true,
        getPosition: function (d) { return [d.lon, d.lat]; },
        getFillColor: function (d) { return d.colour; }, getLineColor: [11, 15, 23, 255],
        getRadius: function (d) { return d.r || 6; }, radiusUnits: "pixels",
        lineWidthUnits: "pixels", getLineWidth: 1}));
    }
    return out;
  }

  function draw(m) {
    if (!m.deck || !m.base) return;
    m.deck.setProps({layers: layers(m, m.base)});
    showTime(m);
  }

  function tooltip(info) {
    const o = info && info.object;
    const tip = o && (o.tip || (o.properties && info.layer && info.layer.props.tips &&
                                info.layer.props.tips[o.properties.id]));
    return tip ? {html: tip,
      style: {background: "#0b0f17", color: "#f2f5fa", fontSize: "15px", padding: "8px 10px",
              border: "1px solid #243044", borderRadius: "6px"}} : null;
  }

  /* A spec with a url is fetched first: big specs (the trace's trails and exposure venues) come
     as plain JSON, not through Dash's renderer. */
  async function fetchSpec(spec) {
    const r = await fetch(spec.url, {credentials: "same-origin"});
    const body = await r.json();
    if (!r.ok) throw new Error(body.error || ("HTTP " + r.status));
    return Object.assign(body, {target: spec.target});
  }

  async function render(spec) {
    if (!spec || !spec.target) return;
    const el = document.getElementById(spec.target);
    if (!el) return;
    let m = maps[spec.target];
    try {
      if (spec.url) spec = await fetchSpec(spec);
      await deckReady();
      const base = await loadAreas();
      if (spec.choropleth) {  /* {district: null | id, fill: {id: rgba}, tips, labels} */
        const got = await loadAreas(spec.choropleth.district || "city");
        spec.choropleth.features = got.features;
      }
      if (!m || m.el !== el) {
        if (m && m.deck) m.deck.finalize();
        m = maps[spec.target] = {el: el, deck: null, spec: spec, t: 0, speed: 3600,
                                 trail: 86400, playing: false, loops: 0, frames: 0,
                                 raf: null, bar: null, error: null};
        m.deck = new deck.Deck({
          parent: el, controller: true, style: {position: "absolute", inset: "0"},
          initialViewState: {longitude: 122, latitude: 37, zoom: 8},
          getTooltip: tooltip,
          onAfterRender: function () { m.frames += 1; }});
      }
      if (m.raf) { cancelAnimationFrame(m.raf); m.raf = null; }
      if (m.bar) { m.bar.remove(); m.bar = null; }
      m.spec = spec;
      m.base = base;
      const box = bounds(spec);
      const city = bounds({points: base.features.map(function (f) {
        return {lon: f.properties.label[0], lat: f.properties.label[1]};
      })});
      const fitFor = spec.url || spec.fit || "once";  /* a live board keeps the user's view */
      if (m.fitted !== fitFor) {
        m.deck.setProps({initialViewState: viewFor(el, box, city)});
        m.fitted = fitFor;
      }
      const p = spec.playback;
      if (p) {
        m.t = p.start; m.speed = p.speed || 3600; m.trail = p.trail || 86400;
        m.playing = !!p.autoplay;
        if (p.controls !== false) m.bar = controls(m);
        if (m.playing) tick(m);
      }
      m.error = null;
      draw(m);
    } catch (err) {
      if (!m) {
        m = maps[spec.target] = {el: el, spec: {}, frames: 0, t: 0, playing: false, loops: 0,
                                 bar: null, raf: null};
      }
      m.error = String(err.message || err);
      el.setAttribute("data-error", m.error);  /* shown over the map (placecode.css) */
    }
  }

  /* On a page with a desk map, load deck.gl and the districts while Dash is still starting. */
  if (/^\/(trace|venues|venue\/|economy|testing)/.test(location.pathname)) {
    document.addEventListener("DOMContentLoaded", function () {  /* after wall_map.js ran */
      deckReady().catch(function () {});
      loadAreas().catch(function () {});
    });
  }

  window.placecodeMaps = {
    render: render,
    state: function (target) {
      const m = maps[target];
      if (!m) return null;
      const s = m.spec;
      return {points: (s.points || []).length, paths: (s.paths || []).length,
              trips: (s.trips || []).length, heat: (s.heat || []).length,
              areas: s.choropleth && s.choropleth.features ? s.choropleth.features.length : 0,
              filled: s.choropleth ? Object.keys(s.choropleth.fill || {}).length : 0,
              areasOf: s.choropleth ? (s.choropleth.district || "city") : null, t: m.t, playing: m.playing, loops: m.loops,
              frames: m.frames, speed: m.speed, trail: m.trail, controls: !!m.bar,
              error: m.error};
    },
  };
  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    maps: {
      draw: function (spec) {
        render(spec);
        return window.dash_clientside.no_update;
      },
    },
  });
})();
