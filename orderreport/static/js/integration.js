// The integration page: the ways of sending as tabs, and a fresh example order id per Copy.
//
// Without this script every way is shown, one after another, under a list of links to them;
// the page stays complete, only longer.

// --- Tabs --------------------------------------------------------------------------------
// The links of [data-tabs] point at their panels (href="#panel-id"). One panel is shown at a
// time; the choice is kept in the URL's fragment (replaceState, so Back still leaves the
// page), which also makes it survive a reload and a shared link. A fragment naming something
// inside a panel (#server-api after creating a key, a form's result) opens that panel.
(() => {
  const list = document.querySelector("[data-tabs]");
  if (!list) return;
  const tabs = Array.from(list.querySelectorAll("a[href^='#']"));
  const panels = tabs.map((tab) => document.getElementById(tab.hash.slice(1)));
  if (panels.some((panel) => !panel)) return;

  list.setAttribute("role", "tablist");
  tabs.forEach((tab, i) => {
    tab.id = tab.id || `tab-${panels[i].id}`;
    tab.setAttribute("role", "tab");
    tab.setAttribute("aria-controls", panels[i].id);
    panels[i].setAttribute("role", "tabpanel");
    panels[i].setAttribute("aria-labelledby", tab.id);
  });

  function select(index, { focus = false } = {}) {
    tabs.forEach((tab, i) => {
      const on = i === index;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      // Roving tabindex: Tab reaches the chosen tab only, the arrows move between them.
      tab.tabIndex = on ? 0 : -1;
      panels[i].hidden = !on;
    });
    if (focus) tabs[index].focus();
  }

  function fromFragment() {
    const id = decodeURIComponent(location.hash.slice(1));
    const target = id && document.getElementById(id);
    if (!target) return -1;
    return panels.findIndex((panel) => panel.contains(target));
  }

  function choose(index) {
    select(index, { focus: true });
    history.replaceState(null, "", tabs[index].hash);
  }

  list.addEventListener("click", (event) => {
    const tab = event.target.closest("[role=tab]");
    if (!tab) return;
    event.preventDefault();
    choose(tabs.indexOf(tab));
  });
  list.addEventListener("keydown", (event) => {
    const current = tabs.indexOf(document.activeElement);
    if (current < 0) return;
    const last = tabs.length - 1;
    const next = {
      ArrowRight: current === last ? 0 : current + 1,
      ArrowLeft: current === 0 ? last : current - 1,
      Home: 0,
      End: last,
    }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    choose(next);
  });
  window.addEventListener("hashchange", () => {
    const index = fromFragment();
    if (index >= 0) select(index);
  });

  const start = fromFragment();
  select(start >= 0 ? start : 0);
})();

// --- Fresh example order ids ---------------------------------------------------------------
// An order id is unique in a project, so pasting the same example twice would get 409. The
// server renders each order example with `order-<milliseconds since 1970>` and names that id in
// the snippet's data-order-id; each press of its Copy button puts a newer id of the same shape
// in its place, in the text shown and in the text copied.
(() => {
  let last = 0;

  function freshId(old) {
    // Strictly increasing, even for two presses within one millisecond or with a clock behind
    // the server's.
    last = Math.max(Date.now(), last + 1, Number(old.replace(/^order-/, "")) + 1 || 0);
    return `order-${last}`;
  }

  // Capture phase: runs before app.js's copy handler (a bubbling listener on document), so
  // that handler copies the text with the new id.
  document.addEventListener(
    "click",
    (event) => {
      const button = event.target.closest("[data-copy]");
      const snippet = button && button.closest("[data-order-id]");
      if (!snippet) return;
      const old = snippet.getAttribute("data-order-id");
      const id = freshId(old);
      const code = snippet.querySelector("pre code");
      button.setAttribute("data-copy", button.getAttribute("data-copy").replaceAll(old, id));
      if (code) code.textContent = code.textContent.replaceAll(old, id);
      snippet.setAttribute("data-order-id", id);
    },
    true,
  );
})();
