import { Type } from "@sinclair/typebox";
import { searchCustomers } from "../../services/console-customers.js";
import { resolvePeriod, userUsage } from "../../services/usage.js";
import * as users from "../../services/users.js";
import { type ConsoleApp, type ConsoleEnv, seeOther, sendPage } from "../env.js";
import { fmt, type Html, html } from "../html.js";
import { page } from "../layout.js";
import { csrfField, flash, pager } from "../widgets.js";

const PAGE = 50;
const Id = Type.Integer({ minimum: 1, maximum: 2147483647 });
const HtmlPage = { 200: Type.String() };
const MaxBots = Type.Integer({ minimum: 0, maximum: 10_000 });

function customerList(q: string, skip: number, result: Awaited<ReturnType<typeof searchCustomers>>): Html {
  return html`<div id="customer-list">
${
  result.items.length === 0
    ? html`<p>No customers${q ? html` match “${q}”` : ""}.</p>`
    : html`<table><caption class="visually-hidden">Customers</caption>
<thead><tr><th scope="col">Email</th><th scope="col">Name</th><th scope="col" class="num">Max bots</th><th scope="col" class="num">Keys</th><th scope="col" class="num">Live</th><th scope="col">Created</th></tr></thead>
<tbody>${result.items.map(
        (c) => html`<tr><td><a href="/console/customers/${c.id}">${c.email}</a></td><td>${c.name ?? ""}</td>
<td class="num">${c.max_concurrent_bots}</td><td class="num">${c.keys}</td><td class="num">${c.live_holds}</td><td>${fmt.time(c.created_at)}</td></tr>`,
      )}</tbody></table>`
}
${pager("/console/customers", q ? { q } : {}, skip, PAGE, result.total)}
</div>`;
}

async function detail(env: ConsoleEnv, csrf: string, id: number, extra: { newKey?: string; saved?: string }) {
  const { ctx } = env.app;
  const [customer, usage] = await Promise.all([
    users.getUserDetail(ctx, id),
    users.getUserRow(ctx.db, id).then((u) => (u ? userUsage(ctx, u, resolvePeriod(ctx, {})) : undefined)),
  ]);
  return page(
    { assets: env.assets, csrf },
    { title: customer.email, current: "customers" },
    html`${flash(extra.saved)}
${
  extra.newKey
    ? html`<section class="secret" aria-labelledby="new-key-title">
<h2 id="new-key-title">New API key</h2>
<p>Copy it now: it is shown this once and cannot be shown again.</p>
<p><code id="new-key">${extra.newKey}</code></p>
<button type="button" data-copy="new-key">Copy key</button> <span id="new-key-status" role="status"></span>
</section>`
    : ""
}
<dl class="facts">
  <dt>Customer id</dt><dd>${customer.id}</dd>
  <dt>Created</dt><dd>${fmt.time(customer.created_at)}</dd>
  <dt>Bot-minutes this month</dt><dd>${fmt.minutes(usage?.bot_minutes ?? 0)} in ${usage?.meetings ?? 0} meetings</dd>
</dl>
<h2>Settings</h2>
<form method="post" action="/console/customers/${id}" class="stack">
  ${csrfField(csrf)}
  <label for="name">Name</label>
  <input id="name" name="name" value="${customer.name ?? ""}" maxlength="100">
  <label for="max_concurrent_bots">Max concurrent bots</label>
  <input id="max_concurrent_bots" name="max_concurrent_bots" type="number" min="0" max="10000" required value="${customer.max_concurrent_bots}">
  <div><button type="submit">Save</button></div>
</form>
<h2>API keys</h2>
${
  customer.api_tokens.length === 0
    ? html`<p>No keys.</p>`
    : html`<table><caption class="visually-hidden">API keys (masked)</caption>
<thead><tr><th scope="col">Key</th><th scope="col">Created</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
<tbody>${customer.api_tokens.map(
        (t) => html`<tr><td><code>${t.token}</code></td><td>${fmt.time(t.created_at)}</td><td>
<form method="post" action="/console/tokens/${t.id}/revoke" class="inline" data-confirm="Revoke this key? Clients using it stop working at once.">
${csrfField(csrf)}<input type="hidden" name="customer" value="${id}">
<button type="submit" class="danger" aria-label="Revoke key ${t.token.slice(0, 4)}…${t.token.slice(-4)}">Revoke</button></form></td></tr>`,
      )}</tbody></table>`
}
<form method="post" action="/console/customers/${id}/keys">${csrfField(csrf)}<button type="submit">Create key</button></form>`,
  );
}

/** Customers: search, create, edit the bot limit, create (shown once) and revoke keys; all through users.ts. */
export function registerCustomerPages(c: ConsoleApp, env: ConsoleEnv): void {
  const { ctx } = env.app;
  const ListQuery = Type.Object({
    q: Type.Optional(Type.String({ maxLength: 255 })),
    skip: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
  });

  c.get(
    "/customers",
    { schema: { hide: true, querystring: ListQuery, response: HtmlPage } },
    async (request, reply) => {
      const q = request.query.q?.trim() ?? "";
      const skip = request.query.skip ?? 0;
      const result = await searchCustomers(ctx, { q, skip, limit: PAGE });
      const list = customerList(q, skip, result);
      if (request.headers["hx-request"] && request.headers["hx-target"] === "customer-list")
        return sendPage(reply, list);
      const csrf = request.consoleSession?.csrf ?? "";
      return sendPage(
        reply,
        page(
          { assets: env.assets, csrf },
          { title: "Customers", current: "customers" },
          html`<form method="get" action="/console/customers" class="row" role="search">
  <div><label for="q">Search by email or name</label>
  <input id="q" name="q" type="search" value="${q}" hx-get="/console/customers" hx-trigger="input changed delay:300ms, search" hx-target="#customer-list" hx-swap="outerHTML" hx-push-url="true"></div>
  <button type="submit" class="secondary">Search</button>
</form>
${customerList(q, skip, result)}
<h2>New customer</h2>
<form method="post" action="/console/customers" class="stack">
  ${csrfField(csrf)}
  <label for="new-email">Email</label>
  <input id="new-email" name="email" type="email" required maxlength="255" autocomplete="off">
  <label for="new-name">Name</label>
  <input id="new-name" name="name" maxlength="100" autocomplete="off">
  <label for="new-max">Max concurrent bots</label>
  <input id="new-max" name="max_concurrent_bots" type="number" min="0" max="10000" value="1" required>
  <div><button type="submit">Create customer</button></div>
</form>`,
        ),
      );
    },
  );

  c.post(
    "/customers",
    {
      schema: {
        hide: true,
        body: Type.Object({
          _csrf: Type.Optional(Type.String()),
          email: Type.String({ minLength: 3, maxLength: 255 }),
          name: Type.Optional(Type.String({ maxLength: 100 })),
          max_concurrent_bots: MaxBots,
        }),
      },
    },
    async (request, reply) => {
      const b = request.body;
      const { user } = await users.createUser(ctx, {
        email: b.email.trim(),
        name: b.name?.trim() || null,
        max_concurrent_bots: b.max_concurrent_bots,
      });
      return seeOther(reply, `/console/customers/${user.id}`);
    },
  );

  c.get(
    "/customers/:id",
    {
      schema: {
        hide: true,
        params: Type.Object({ id: Id }),
        querystring: Type.Object({ saved: Type.Optional(Type.String({ maxLength: 20 })) }),
        response: HtmlPage,
      },
    },
    async (request, reply) => {
      const saved = { settings: "Settings saved.", revoked: "Key revoked." }[request.query.saved ?? ""];
      return sendPage(
        reply,
        await detail(env, request.consoleSession?.csrf ?? "", request.params.id, saved ? { saved } : {}),
      );
    },
  );

  c.post(
    "/customers/:id",
    {
      schema: {
        hide: true,
        params: Type.Object({ id: Id }),
        body: Type.Object({
          _csrf: Type.Optional(Type.String()),
          name: Type.Optional(Type.String({ maxLength: 100 })),
          max_concurrent_bots: MaxBots,
        }),
      },
    },
    async (request, reply) => {
      await users.updateUser(ctx, request.params.id, {
        name: request.body.name?.trim() || null,
        max_concurrent_bots: request.body.max_concurrent_bots,
      });
      return seeOther(reply, `/console/customers/${request.params.id}?saved=settings`);
    },
  );

  // The one answer that carries a plaintext key: rendered directly (never stored, never redirected to).
  c.post(
    "/customers/:id/keys",
    {
      schema: {
        hide: true,
        params: Type.Object({ id: Id }),
        body: Type.Object({ _csrf: Type.Optional(Type.String()) }),
        response: HtmlPage,
      },
    },
    async (request, reply) => {
      const token = await users.createToken(ctx, request.params.id);
      return sendPage(
        reply,
        await detail(env, request.consoleSession?.csrf ?? "", request.params.id, { newKey: token.token }),
      );
    },
  );

  c.post(
    "/tokens/:id/revoke",
    {
      schema: {
        hide: true,
        params: Type.Object({ id: Id }),
        body: Type.Object({ _csrf: Type.Optional(Type.String()), customer: Type.Optional(Id) }),
      },
    },
    async (request, reply) => {
      await users.deleteToken(ctx, request.params.id);
      const back = request.body.customer;
      return seeOther(reply, back ? `/console/customers/${back}?saved=revoked` : "/console/customers");
    },
  );
}
