import { Type } from "@sinclair/typebox";
import { FINALIZE_QUEUE, NOTIFY_QUEUE, START_QUEUE } from "../../meetings/queues.js";
import { liveMeetings } from "../../services/console-meetings.js";
import { failedDeliveriesSince, liveCounts, type OpsMinute, opsHistory } from "../../services/console-ops.js";
import { type ConsoleApp, type ConsoleEnv, sendPage } from "../env.js";
import { fmt, type Html, html } from "../html.js";
import { page } from "../layout.js";
import { card, chart } from "../widgets.js";

const HOUR = 3600_000;
const QUEUES = [FINALIZE_QUEUE, START_QUEUE, NOTIFY_QUEUE];
const BREAKER = { closed: "closed", half_open: "half open", open: "open" } as Record<string, string>;

/** The wholesaler's own count of running bots, asked at most every 5 s whatever the number of viewers. */
function upstreamBotCounter(env: ConsoleEnv) {
  let cached: { at: number; value: number | undefined } | undefined;
  return async (): Promise<number | undefined> => {
    const now = Date.now();
    if (cached && now - cached.at < 5_000) return cached.value;
    const value = await env.console.client
      .getBotsStatus({ timeoutMs: 1000, deadlineMs: 1500 })
      .then((r) => r.running_bots.length)
      .catch(() => undefined);
    cached = { at: now, value };
    return value;
  };
}

const plural = (n: number, word: string) => `${fmt.int(n)} ${word}${n === 1 ? "" : "s"}`;

/** The last 60 minutes, each with the samples written in it (none: no instance was running then). */
function minuteGrid(history: OpsMinute[], now: number): { minute_ms: number; h: OpsMinute | undefined }[] {
  const byMinute = new Map(history.map((h) => [h.minute_ms, h]));
  const last = Math.floor(now / 60_000) * 60_000;
  return Array.from({ length: 60 }, (_, i) => {
    const minute_ms = last - (59 - i) * 60_000;
    return { minute_ms, h: byMinute.get(minute_ms) };
  });
}

async function liveSection(
  env: ConsoleEnv,
  wholesalerBots: () => Promise<number | undefined>,
): Promise<Html> {
  const { ctx } = env.app;
  const now = ctx.clock.now();
  const { queue, client } = env.console;
  const [counts, history, failedHour, depths, failedJobs, theirs, live] = await Promise.all([
    liveCounts(ctx),
    opsHistory(ctx, now - HOUR),
    failedDeliveriesSince(ctx, now - HOUR),
    Promise.all(QUEUES.map((q) => queue.depth(q))),
    Promise.all(QUEUES.map((q) => queue.failedCount(q))),
    wholesalerBots(),
    liveMeetings(ctx, 20),
  ]);
  const recent = history.filter((h) => h.minute_ms >= now - 5 * 60_000);
  const calls = recent.reduce((s, h) => s + h.upstream_calls, 0);
  const errors = recent.reduce((s, h) => s + h.upstream_errors, 0);
  const msSum = recent.reduce((s, h) => s + h.upstream_ms_sum, 0);
  const breaker = client.breakerState();
  const depth = depths.reduce((a, b) => a + b, 0);
  const grid = minuteGrid(history, now);
  const x = grid.map((g) => g.minute_ms / 1000);
  const range: [number, number] = [x[0] ?? 0, (x[x.length - 1] ?? 0) + 60];
  const series = (label: string, pick: (h: OpsMinute) => number | null) => ({
    label,
    values: grid.map((g) => (g.h ? pick(g.h) : null)),
  });
  const peak = (v: number[]) => Math.max(0, ...v);
  return html`<section id="live" aria-labelledby="now-title" hx-get="/console/overview/live" hx-trigger="every 5s" hx-swap="outerHTML">
<h2 id="now-title">Now</h2>
<dl class="cards">
  ${card("Live meetings", fmt.int(counts.live_meetings), "one wholesaler bot each")}
  ${card("Customer holds", fmt.int(counts.live_holders), "customers holding those bots")}
  ${card("Upstream bots", fmt.int(counts.upstream_bots), theirs === undefined ? "wholesaler count unavailable" : `wholesaler reports ${theirs}`, theirs !== undefined && theirs !== counts.upstream_bots ? "warn" : undefined)}
  ${card("Wholesaler breaker", BREAKER[breaker] ?? breaker, client.authFailing() ? "the wholesaler rejects our key" : "", breaker === "closed" && !client.authFailing() ? "ok" : "bad")}
  ${card("Latency (5 min)", calls ? `${Math.round(msSum / calls)} ms` : "—", plural(calls, "call"))}
  ${card("Error rate (5 min)", calls ? `${((errors / calls) * 100).toFixed(1)} %` : "—", plural(errors, "failed call"), errors ? "warn" : undefined)}
  ${card("Job queue depth", fmt.int(depth), `${fmt.int(failedJobs.reduce((a, b) => a + b, 0))} jobs out of retries`)}
  ${card("Failed deliveries (1 h)", fmt.int(failedHour), "customer webhook attempts", failedHour ? "warn" : undefined)}
</dl>
<h2>Last hour</h2>
<div class="charts">
${chart(
  "chart-live",
  "Live meetings and upstream bots",
  `Live meetings: now ${counts.live_meetings}, peak ${peak([counts.live_meetings, ...history.map((h) => h.live_meetings)])} in the last hour.`,
  {
    x,
    range,
    series: [
      series("live meetings", (h) => h.live_meetings),
      series("upstream bots", (h) => h.upstream_bots),
    ],
  },
)}
${chart(
  "chart-wholesaler",
  "Wholesaler latency (ms) and errors (%)",
  `Wholesaler: ${plural(
    history.reduce((s, h) => s + h.upstream_calls, 0),
    "call",
  )} in the last hour, slowest ${Math.round(peak(history.map((h) => h.upstream_ms_max)))} ms.`,
  {
    x,
    range,
    series: [
      series("mean latency ms", (h) => (h.upstream_calls ? h.upstream_ms_sum / h.upstream_calls : null)),
      series("error %", (h) => (h.upstream_calls ? (100 * h.upstream_errors) / h.upstream_calls : null)),
    ],
  },
)}
${chart(
  "chart-backlog",
  "Job queue depth and failed deliveries",
  `Queue depth now ${depth}; ${failedHour} failed deliveries in the last hour.`,
  {
    x,
    range,
    series: [
      series("queue depth", (h) => h.queue_depth),
      series("failed deliveries", (h) => h.failed_deliveries),
    ],
  },
)}
</div>
<h2>Live meetings</h2>
${
  live.length === 0
    ? html`<p>No live meetings.</p>`
    : html`<table><caption class="visually-hidden">Live meetings, newest first</caption>
<thead><tr><th scope="col">Meeting</th><th scope="col">Status</th><th scope="col">Holders</th><th scope="col">Started</th></tr></thead>
<tbody>${live.map(
        (m) => html`<tr><td><a href="/console/meetings/${m.id}">${m.platform}/${m.native_meeting_id}</a></td>
<td>${m.status}</td><td>${m.holders.map((h) => h.email).join(", ")}</td><td>${fmt.time(m.start_time ?? m.created_at)}</td></tr>`,
      )}</tbody></table>`
}
</section>`;
}

export function registerOverviewPages(c: ConsoleApp, env: ConsoleEnv): void {
  const wholesalerBots = upstreamBotCounter(env);
  c.get("/", { schema: { hide: true, response: { 200: Type.String() } } }, async (request, reply) =>
    sendPage(
      reply,
      page(
        { assets: env.assets, csrf: request.consoleSession?.csrf ?? "" },
        { title: "Overview", current: "overview", charts: true },
        await liveSection(env, wholesalerBots),
      ),
    ),
  );
  c.get(
    "/overview/live",
    { schema: { hide: true, response: { 200: Type.String() } } },
    async (_request, reply) => sendPage(reply, await liveSection(env, wholesalerBots)),
  );
}
