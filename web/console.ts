// The console's only script: htmx for partial updates, uPlot for charts, and a few behaviours no attribute covers.
import htmx from "htmx.org";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import "./console.css";

interface ChartData {
  x: number[];
  series: { label: string; values: (number | null)[] }[];
  kind?: "line" | "bars";
  labels?: string[];
  range?: [number, number];
}

const COLOURS = ["#1f5fbf", "#c2410c", "#15803d"];
const charts = new Map<HTMLElement, uPlot>();

function drawCharts(root: ParentNode): void {
  for (const el of root.querySelectorAll<HTMLElement>("[data-chart]")) {
    const source = document.getElementById(el.dataset.chart ?? "");
    if (!source?.textContent) continue;
    const data = JSON.parse(source.textContent) as ChartData;
    charts.get(el)?.destroy();
    el.replaceChildren();
    const bars = data.kind === "bars";
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: 180,
      legend: { show: true, live: false },
      scales: {
        x: data.range ? { time: !bars, range: () => data.range as [number, number] } : { time: !bars },
      },
      axes: [
        bars
          ? { values: (_u, splits) => splits.map((v) => data.labels?.[v] ?? ""), rotate: -30, size: 60 }
          : {},
        { size: 50 },
      ],
      series: [
        {},
        ...data.series.map((s, i) => ({
          label: s.label,
          stroke: COLOURS[i % COLOURS.length],
          width: 2,
          ...(bars
            ? { fill: `${COLOURS[i % COLOURS.length]}99`, paths: uPlot.paths.bars?.({ size: [0.6, 60] }) }
            : { spanGaps: true, points: { show: true, size: 4 } }),
        })),
      ],
    };
    const plot = new uPlot(opts, [data.x, ...data.series.map((s) => s.values)] as uPlot.AlignedData, el);
    charts.set(el, plot);
  }
  for (const [el, plot] of charts) {
    if (!el.isConnected) {
      plot.destroy();
      charts.delete(el);
    }
  }
}

// Every change carries the session's CSRF token (forms also have it as a hidden field, for use without scripts).
document.body.addEventListener("htmx:configRequest", (e) => {
  const csrf = document.body.dataset.csrf;
  const detail = (e as CustomEvent<{ headers: Record<string, string> }>).detail;
  if (csrf) detail.headers["x-csrf-token"] = csrf;
});
document.body.addEventListener("htmx:afterSettle", (e) => drawCharts(e.target as HTMLElement));

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

let resizeTimer: number | undefined;
window.addEventListener("resize", () => {
  window.clearTimeout(resizeTimer);
  resizeTimer = window.setTimeout(() => {
    for (const [el, plot] of charts) plot.setSize({ width: Math.max(200, el.clientWidth), height: 180 });
  }, 150);
});

drawCharts(document);
// Referenced so the bundler keeps htmx, which wires itself to the page on load.
Object.assign(window, { htmx });
