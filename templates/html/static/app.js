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
});
