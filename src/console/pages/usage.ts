import { Type } from "@sinclair/typebox";
import { resolvePeriod, type UsageReport, usageReport } from "../../services/usage.js";
import { type ConsoleApp, type ConsoleEnv, sendPage } from "../env.js";
import { fmt, html } from "../html.js";
import { page } from "../layout.js";
import { chart, pager } from "../widgets.js";

const CHART_TOP = 20;
const PAGE = 100;

function csvCell(v: string | number): string {
  const s = String(v);
  // Quote anything a spreadsheet could misread, and defuse formulas (=, +, -, @ at the start).
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\n\r']/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** GET /admin/usage as CSV: one line per customer with the same numbers, the period on every line. */
export function usageCsv(report: UsageReport): string {
  const lines = [["from", "to", "user_id", "email", "bot_minutes", "meetings"].join(",")];
  for (const u of report.users)
    lines.push(
      [report.from, report.to, u.user_id, u.email, u.bot_minutes, u.meetings].map(csvCell).join(","),
    );
  return `${lines.join("\r\n")}\r\n`;
}

/** Usage: bot-minutes per customer for a period, from the same report GET /admin/usage serves. */
/** The period's bounds as typed; resolvePeriod checks them, as on the API's /usage routes. */
const PeriodQuery = Type.Object({ from: Type.Optional(Type.String()), to: Type.Optional(Type.String()) });

export function registerUsagePages(c: ConsoleApp, env: ConsoleEnv): void {
  const { ctx } = env.app;

  c.get(
    "/usage",
    {
      schema: {
        hide: true,
        querystring: Type.Object({
          ...PeriodQuery.properties,
          skip: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000 })),
        }),
        response: { 200: Type.String() },
      },
    },
    async (request, reply) => {
      const report = await usageReport(ctx, resolvePeriod(ctx, request.query));
      const q = new URLSearchParams({ from: report.from, to: report.to }).toString();
      const skip = request.query.skip ?? 0;
      const ranked = [...report.users].sort((a, b) => b.bot_minutes - a.bot_minutes || a.user_id - b.user_id);
      const top = ranked.slice(0, CHART_TOP);
      const day = (iso: string) => iso.slice(0, 10);
      return sendPage(
        reply,
        page(
          { assets: env.assets, csrf: request.consoleSession?.csrf ?? "" },
          { title: "Usage", current: "usage", charts: top.length > 0 },
          html`<form method="get" action="/console/usage" class="row">
  <div><label for="from">From (UTC, inclusive)</label><input id="from" name="from" type="date" value="${day(report.from)}"></div>
  <div><label for="to">To (UTC, exclusive)</label><input id="to" name="to" type="date" value="${day(report.to)}"></div>
  <button type="submit" class="secondary">Show</button>
  <a href="/console/usage.csv?${q}" download>Download CSV</a>
</form>
<p><strong>${fmt.minutes(report.total_bot_minutes)}</strong> bot-minutes from ${report.users.length} customers, ${fmt.time(report.from)} to ${fmt.time(report.to)}.</p>
${
  top.length
    ? chart(
        "chart-usage",
        `Bot-minutes, top ${top.length} customers`,
        `Most bot-minutes: ${top[0]?.email} with ${fmt.minutes(top[0]?.bot_minutes ?? 0)}.`,
        {
          kind: "bars",
          x: top.map((_, i) => i),
          labels: top.map((u) => u.email),
          series: [{ label: "bot-minutes", values: top.map((u) => u.bot_minutes) }],
        },
      )
    : ""
}
<table><caption class="visually-hidden">Bot-minutes per customer, most first</caption>
<thead><tr><th scope="col">Customer</th><th scope="col" class="num">Bot-minutes</th><th scope="col" class="num">Meetings</th></tr></thead>
<tbody>${ranked
            .slice(skip, skip + PAGE)
            .map(
              (u) =>
                html`<tr><td><a href="/console/customers/${u.user_id}">${u.email}</a></td><td class="num">${fmt.minutes(u.bot_minutes)}</td><td class="num">${u.meetings}</td></tr>`,
            )}</tbody></table>
${pager("/console/usage", { from: report.from, to: report.to }, skip, PAGE, ranked.length)}`,
        ),
      );
    },
  );

  c.get(
    "/usage.csv",
    { schema: { hide: true, querystring: PeriodQuery, response: { 200: Type.String() } } },
    async (request, reply) => {
      const report = await usageReport(ctx, resolvePeriod(ctx, request.query));
      return reply
        .type("text/csv; charset=utf-8")
        .header(
          "content-disposition",
          `attachment; filename="usage-${report.from.slice(0, 10)}-${report.to.slice(0, 10)}.csv"`,
        )
        .send(usageCsv(report));
    },
  );
}
