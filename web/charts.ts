// Charts for the pages that have them: uPlot draws each [data-chart] from the JSON beside it.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

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

document.addEventListener("console:charts", (e) => drawCharts((e as CustomEvent<ParentNode>).detail));

let resizeTimer: number | undefined;
window.addEventListener("resize", () => {
  window.clearTimeout(resizeTimer);
  resizeTimer = window.setTimeout(() => {
    for (const [el, plot] of charts) plot.setSize({ width: Math.max(200, el.clientWidth), height: 180 });
  }, 150);
});

drawCharts(document);
