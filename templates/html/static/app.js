// hark's only script: small conveniences the pages work without. It is
// loaded from /static (the Content-Security-Policy forbids inline script).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Buttons with data-confirm ask before submitting their form.
  document.querySelectorAll("[data-confirm]").forEach((el) => {
    el.addEventListener("click", (ev) => {
      if (!window.confirm(el.dataset.confirm)) ev.preventDefault();
    });
  });
  // A rule kind picker shows the chosen kind's help and argument example.
  document.querySelectorAll("select[data-kind-help]").forEach((sel) => {
    const target = document.getElementById(sel.dataset.kindHelp);
    const args = document.getElementById(sel.dataset.kindArgs);
    const show = () => {
      const opt = sel.selectedOptions[0];
      if (!opt) return;
      if (target) target.textContent = opt.dataset.help || "";
      if (args && !args.dataset.touched) args.value = opt.dataset.example || "";
    };
    if (args) args.addEventListener("input", () => { args.dataset.touched = "1"; });
    sel.addEventListener("change", show);
    show();
  });
  // An event picker shows only the events of the application picked
  // beside it; picking an event picks its application.
  document.querySelectorAll("select[data-app-picker]").forEach((events) => {
    const app = document.getElementById(events.dataset.appPicker);
    if (!app) return;
    const narrow = () => {
      events.querySelectorAll("optgroup").forEach((g) => {
        g.hidden = app.value !== "" && g.label !== app.value;
      });
      const opt = events.selectedOptions[0];
      if (opt && opt.parentElement.hidden) events.value = "";
    };
    app.addEventListener("change", narrow);
    events.addEventListener("change", () => {
      const opt = events.selectedOptions[0];
      if (opt && opt.parentElement.tagName === "OPTGROUP") app.value = opt.parentElement.label;
    });
    narrow();
  });
  // A rule's value field completes the names its kind takes (packages,
  // users, groups) from /api/v1/suggest, the last comma-separated one.
  document.querySelectorAll("input[data-kind-picker]").forEach((input) => {
    const kind = document.getElementById(input.dataset.kindPicker);
    const list = document.getElementById(input.getAttribute("list"));
    if (!kind || !list) return;
    let asked = "";
    input.addEventListener("input", async () => {
      const opt = kind.selectedOptions[0];
      const source = opt ? opt.dataset.suggest : "";
      const parts = input.value.split(",");
      const last = parts.pop().trim();
      if (!source || last === "" || last === asked) return;
      asked = last;
      const resp = await fetch("/api/v1/suggest/" + source + "?q=" + encodeURIComponent(last));
      if (!resp.ok) return;
      const names = await resp.json();
      const head = parts.length ? parts.join(",") + ", " : "";
      list.replaceChildren(...names.map((n) => {
        const o = document.createElement("option");
        o.value = head + n;
        return o;
      }));
    });
  });
});
