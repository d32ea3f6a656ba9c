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
