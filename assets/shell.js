/* Shell UI that runs in the browser: remember the chosen language in a cookie, so that the next
   page load (and the login page) start in it. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  shell: {
    rememberLang: function (lang) {
      if (lang === "zh" || lang === "en") {
        document.cookie = "placecode_lang=" + lang + "; path=/; max-age=31536000; samesite=lax";
        document.documentElement.lang = lang;
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

/* AG Grid's own words (empty overlay, loading, paging, filters) in the reader's language: the
   language the shell set on <html>, else the cookie, else Chinese. */
(function () {
  const ZH = {
    noRowsToShow: "暂无数据", loadingOoo: "加载中…", page: "页", of: "共", to: "至",
    more: "更多", next: "下一页", previous: "上一页", first: "首页", last: "末页",
    filterOoo: "筛选…", contains: "包含", notContains: "不包含", equals: "等于",
    notEqual: "不等于", startsWith: "开头是", endsWith: "结尾是", blank: "为空",
    notBlank: "不为空", lessThan: "小于", greaterThan: "大于", inRange: "介于",
    andCondition: "且", orCondition: "或", applyFilter: "应用", resetFilter: "重置",
    clearFilter: "清除", selectAll: "全选", searchOoo: "搜索…",
  };
  function lang() {
    const own = document.documentElement.lang;
    if (own === "zh" || own === "en") { return own; }
    const cookie = document.cookie.match(/(?:^|; )placecode_lang=(zh|en)/);
    return cookie ? cookie[1] : "zh";
  }
  const fns = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});
  fns.placecodeGridText = function (params) {
    return lang() === "zh" && ZH[params.key] ? ZH[params.key] : params.defaultValue;
  };
})();
