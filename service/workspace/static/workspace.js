// Progressive enhancement only: every form works without this script.
// After a refused form, move focus to the error summary so that screen readers read it first (GOV.UK pattern).
document.addEventListener("DOMContentLoaded", () => {
  const summary = document.querySelector("[data-focus-on-load]");
  if (summary) summary.focus();
});
