import { Type } from "@sinclair/typebox";
import { enqueueNotify } from "../../meetings/queues.js";
import { getDelivery, listDeliveries, OUTCOMES } from "../../services/console-deliveries.js";
import { type ConsoleApp, type ConsoleEnv, seeOther, sendPage } from "../env.js";
import { fmt, html } from "../html.js";
import { page } from "../layout.js";
import { csrfField, flash, pager } from "../widgets.js";

const PAGE = 50;

/** Customers' webhook URLs may carry a token in the query: only scheme, host and path are shown. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}${u.search ? "?…" : ""}`;
  } catch {
    return "(invalid URL)";
  }
}

/** Deliveries: every attempt to a customer's webhook, and re-sending through the same notification job. */
export function registerDeliveryPages(c: ConsoleApp, env: ConsoleEnv): void {
  const { ctx } = env.app;

  c.get(
    "/deliveries",
    {
      schema: {
        hide: true,
        querystring: Type.Object({
          outcome: Type.Optional(Type.Union(OUTCOMES.map((o) => Type.Literal(o)))),
          skip: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000 })),
          sent: Type.Optional(Type.Union([Type.Literal("queued"), Type.Literal("pending")])),
        }),
        response: { 200: Type.String() },
      },
    },
    async (request, reply) => {
      const { outcome, sent } = request.query;
      const skip = request.query.skip ?? 0;
      const result = await listDeliveries(ctx, { outcome, skip, limit: PAGE });
      const csrf = request.consoleSession?.csrf ?? "";
      const message =
        sent === "queued"
          ? "Re-send queued: the attempt appears here within seconds."
          : sent === "pending"
            ? "A delivery of that meeting to that customer is already queued."
            : undefined;
      return sendPage(
        reply,
        page(
          { assets: env.assets, csrf },
          { title: "Deliveries", current: "deliveries" },
          html`${flash(message)}
<form method="get" action="/console/deliveries" class="row">
  <div><label for="outcome">Outcome</label>
  <select id="outcome" name="outcome"><option value="">all</option>${OUTCOMES.map(
    (o) => html`<option${o === outcome ? html` selected` : ""}>${o}</option>`,
  )}</select></div>
  <button type="submit" class="secondary">Filter</button>
</form>
${
  result.items.length === 0
    ? html`<p>No deliveries.</p>`
    : html`<table><caption class="visually-hidden">Webhook delivery attempts, newest first</caption>
<thead><tr><th scope="col">Time</th><th scope="col">Customer</th><th scope="col">Meeting</th><th scope="col">URL</th><th scope="col" class="num">Attempt</th><th scope="col">Outcome</th><th scope="col" class="num">Code</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
<tbody>${result.items.map(
        (
          d,
        ) => html`<tr><td>${fmt.time(d.created_at)}</td><td>${d.email}</td><td><a href="/console/meetings/${d.meeting_id}">${d.meeting_id}</a></td>
<td>${displayUrl(d.url)}</td><td class="num">${d.attempt}</td><td>${d.outcome}${d.error ? html`<br><small>${d.error.slice(0, 120)}</small>` : ""}</td>
<td class="num">${d.status_code ?? "—"}</td>
<td><form method="post" action="/console/deliveries/${d.id}/resend" class="inline">${csrfField(csrf)}
<button type="submit" class="secondary" aria-label="Re-send meeting ${d.meeting_id} to ${d.email}">Re-send</button></form></td></tr>`,
      )}</tbody></table>`
}
${pager("/console/deliveries", outcome ? { outcome } : {}, skip, PAGE, result.total)}`,
        ),
      );
    },
  );

  c.post(
    "/deliveries/:id/resend",
    {
      schema: {
        hide: true,
        params: Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2147483647 }) }),
        body: Type.Object({ _csrf: Type.Optional(Type.String()) }),
      },
    },
    async (request, reply) => {
      const d = await getDelivery(ctx, request.params.id);
      // The finalizer's own job, key and retry policy: a delivery still being retried is not doubled.
      const id = await ctx.db.tx((tx) => enqueueNotify(env.console.queue, d.meeting_id, d.user_id, tx));
      return seeOther(reply, `/console/deliveries?sent=${id ? "queued" : "pending"}`);
    },
  );
}
