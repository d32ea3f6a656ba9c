// Small behaviours shared by every page; no inline scripts, so the CSP can forbid them.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const text = button.getAttribute("data-copy");
  navigator.clipboard.writeText(text).then(() => {
    const label = button.textContent;
    button.textContent = button.getAttribute("data-copied") || "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  });
});

// On a phone the project's tabs scroll sideways (CSS): bring the current one into sight, so a
// page opened on "Domains" or "Settings" does not hide which tab it is.
document.addEventListener("DOMContentLoaded", () => {
  const current = document.querySelector(".subnav a[aria-current='page']");
  const strip = current && current.closest("ul");
  if (!strip || strip.scrollWidth <= strip.clientWidth) return;
  const left = current.offsetLeft - strip.offsetLeft;
  strip.scrollLeft = left - (strip.clientWidth - current.offsetWidth) / 2;
});
