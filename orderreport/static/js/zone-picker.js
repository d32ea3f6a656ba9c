// The new-project form's time zone: the browser's own, unless the user has chosen already.
// Without this script the form keeps the server's default (the account's zone, or UTC).
document.addEventListener("DOMContentLoaded", () => {
  for (const select of document.querySelectorAll("select[data-browser-zone]")) {
    const shown = select.selectedOptions[0];
    // Another option than the one the server marked: the user (or the browser's form
    // restore on Back) has chosen, and a choice is never overridden.
    if (shown && !shown.defaultSelected) continue;
    let zone;
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    } catch (error) {
      continue;
    }
    if (!zone) continue;
    // Browsers report some zones by an older name (Asia/Calcutta, Europe/Kiev).
    const aliases = JSON.parse(select.getAttribute("data-zone-aliases") || "{}");
    const names = [zone, aliases[zone]];
    const option = Array.from(select.options).find((o) => names.includes(o.value));
    if (option) option.selected = true;
  }
});
