import { Type } from "@sinclair/typebox";
import { reconcileMeetings } from "../../jobs/reconcile.js";
import { type ConsoleApp, type ConsoleEnv, seeOther, sendPage } from "../env.js";
import { type Html, html } from "../html.js";
import { page } from "../layout.js";
import { csrfField, flash } from "../widgets.js";

/** A URL as it can be shown: no user name, password or query (any of which may hold a secret). */
function publicUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === "/" ? "" : u.pathname}`;
  } catch {
    return url === "sandbox" ? "sandbox" : "(invalid URL)";
  }
}

const yesNo = (v: boolean | null) =>
  v === null
    ? "not known yet"
    : v
      ? html`<span class="ok-text">yes</span>`
      : html`<span class="bad-text">no</span>`;

/** What our service key may do: the start-up check's answer (GET /auth/me scopes, or assumed on a baseline Vexa). */
function capabilityTable(env: ConsoleEnv): Html {
  const c = env.console.capabilities.current();
  const problems = env.console.capabilities.problems();
  const source = {
    auth_me: "the wholesaler's GET /auth/me",
    assumed: "assumed: this wholesaler has no scopes (baseline Vexa)",
    unknown: "no answer from the wholesaler yet",
  }[c.source];
  return html`<table id="capabilities"><caption class="visually-hidden">Service key capabilities</caption>
<thead><tr><th scope="col">Capability</th><th scope="col">Scope</th><th scope="col">Our key</th></tr></thead>
<tbody><tr><td>Start, stop and list bots</td><td>bot</td><td>${yesNo(c.manage_bots)}</td></tr>
<tr><td>Read meetings and transcripts</td><td>tx</td><td>${yesNo(c.read_transcripts)}</td></tr></tbody></table>
<p class="hint">Scopes: ${c.scopes ? c.scopes.join(", ") || "none" : "—"}; source: ${source}.</p>
${problems.map((p) => html`<p class="error" role="alert">${p}</p>`)}`;
}

/** Wholesaler: configuration without secrets, what our key can do, and the reconciler on demand. */
export function registerWholesalerPages(c: ConsoleApp, env: ConsoleEnv): void {
  const { config } = env.app;
  const w = config.wholesaler;

  c.get(
    "/wholesaler",
    {
      schema: {
        hide: true,
        querystring: Type.Object({
          checked: Type.Optional(Type.Integer({ minimum: 0 })),
          finalizing: Type.Optional(Type.Integer({ minimum: 0 })),
          restopped: Type.Optional(Type.Integer({ minimum: 0 })),
          adopted: Type.Optional(Type.Integer({ minimum: 0 })),
          abandoned: Type.Optional(Type.Integer({ minimum: 0 })),
          orphansStopped: Type.Optional(Type.Integer({ minimum: 0 })),
        }),
        response: { 200: Type.String() },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const csrf = request.consoleSession?.csrf ?? "";
      const { client } = env.console;
      const summary =
        q.checked === undefined
          ? undefined
          : `Reconciled: ${q.checked} live meetings checked, ${q.finalizing ?? 0} sent to finalization, ${q.restopped ?? 0} stops re-sent, ${q.adopted ?? 0} adopted, ${q.abandoned ?? 0} abandoned claims released, ${q.orphansStopped ?? 0} unheld bots stopped.`;
      return sendPage(
        reply,
        page(
          { assets: env.assets, csrf },
          { title: "Wholesaler", current: "wholesaler" },
          html`${flash(summary)}
<h2>Configuration</h2>
<dl class="facts">
  <dt>Wholesaler</dt><dd>${w.isSandbox ? "built-in sandbox (simulated Vexa)" : publicUrl(w.url)}</dd>
  <dt>Service key</dt><dd>${w.isSandbox ? "generated for the sandbox" : w.apiKey ? "set (not shown)" : "not set"}</dd>
  <dt>Service layer id</dt><dd>${w.serviceLayerId}</dd>
  <dt>Timeout per attempt</dt><dd>${w.timeoutMs} ms</dd>
  <dt>Webhook receiver</dt><dd>${config.publicUrl ? `${publicUrl(config.publicUrl)}/webhooks/meeting-finished` : w.isSandbox ? "this gateway (sandbox)" : "not registered (RETAILER_PUBLIC_URL unset)"}</dd>
  <dt>Webhook secrets</dt><dd>${config.webhookSecrets.length ? `${config.webhookSecrets.length} configured (not shown)` : w.isSandbox ? "generated for the sandbox" : "none"}</dd>
  <dt>Reconciler interval</dt><dd>${config.reconcileIntervalSeconds} s</dd>
  <dt>Live transcript cache</dt><dd>${config.transcriptCacheTtlMs} ms</dd>
  <dt>Circuit breaker</dt><dd>${client.breakerState().replace("_", " ")}</dd>
  <dt>Our key accepted</dt><dd>${client.authFailing() ? html`<span class="bad-text">no: the wholesaler rejects it</span>` : "yes, as far as the last call showed"}</dd>
</dl>
<h2>Key capabilities</h2>
${capabilityTable(env)}
<h2>Reconcile</h2>
<p>Compares every meeting we think is live with the wholesaler and finalizes the ones that ended; the same run the schedule makes every ${config.reconcileIntervalSeconds} s.</p>
<form method="post" action="/console/wholesaler/reconcile">${csrfField(csrf)}<button type="submit">Reconcile now</button></form>`,
        ),
      );
    },
  );

  c.post(
    "/wholesaler/reconcile",
    { schema: { hide: true, body: Type.Object({ _csrf: Type.Optional(Type.String()) }) } },
    async (_request, reply) => {
      const s = await reconcileMeetings(env.console.lifecycle);
      const q = new URLSearchParams(Object.entries(s).map(([k, v]): [string, string] => [k, String(v)]));
      return seeOther(reply, `/console/wholesaler?${q.toString()}`);
    },
  );
}
