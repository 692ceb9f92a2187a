// The console's script on every page: htmx for partial updates and a few behaviours no attribute covers.
// Charts (uPlot) are a second script, loaded only by pages that have them.
import htmx from "htmx.org";
import "./console.css";

// Every change carries the session's CSRF token (forms also have it as a hidden field, for use without scripts).
document.body.addEventListener("htmx:configRequest", (e) => {
  const csrf = document.body.dataset.csrf;
  const detail = (e as CustomEvent<{ headers: Record<string, string> }>).detail;
  if (csrf) detail.headers["x-csrf-token"] = csrf;
});
document.body.addEventListener("htmx:afterSettle", (e) =>
  document.dispatchEvent(new CustomEvent("console:charts", { detail: e.target })),
);

document.addEventListener("click", (e) => {
  const button = (e.target as HTMLElement).closest<HTMLButtonElement>("button[data-copy]");
  if (!button) return;
  const target = document.getElementById(button.dataset.copy ?? "");
  const status = document.getElementById(`${button.dataset.copy}-status`);
  const text = target?.textContent ?? "";
  const done = (msg: string) => {
    if (status) status.textContent = msg;
  };
  navigator.clipboard?.writeText(text).then(
    () => done("Copied to the clipboard."),
    () => done("Copy failed: select the key and copy it by hand."),
  ) ?? done("Copy is not available here: select the key and copy it by hand.");
});

document.addEventListener("submit", (e) => {
  const form = e.target as HTMLFormElement;
  const question = form.dataset.confirm;
  if (question && !window.confirm(question)) e.preventDefault();
});

// Referenced so the bundler keeps htmx, which wires itself to the page on load.
Object.assign(window, { htmx });
