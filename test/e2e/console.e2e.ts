import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, startTestApp, type TestApp } from "../helpers/app.js";
import { legs } from "../helpers/db.js";
import { waitFor } from "../helpers/wait.js";
import { launchChromium, screenshot } from "./browser.js";

// One walk through the console as an operator would, in one browser: each step builds on the last.
describe("operator console in Chromium", () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let base: string;
  let hooks: Server;
  let hookUrl: string;
  const received: string[] = [];
  const state = { email: `ada-${Date.now()}@example.com`, key: "", customerId: 0 };

  beforeAll(async () => {
    const [leg] = (await legs()).slice(-1);
    t = await startTestApp(
      leg ?? "pglite",
      {},
      { listen: true, sandbox: { joinDelayMs: 200, stopDelayMs: 200 } },
    );
    base = await t.admin.listen({ port: 0, host: "127.0.0.1" });
    hooks = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        received.push(body);
        res.writeHead(200).end("ok");
      });
    });
    await new Promise<void>((r) => hooks.listen(0, "127.0.0.1", r));
    hookUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hook`;
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    hooks?.close();
  });

  const user = (method: string, path: string, body?: unknown) =>
    fetch(`${t.gatewayUrl}${path}`, {
      method,
      headers: { "x-api-key": state.key, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  it("refuses a wrong token and signs in with the admin token", async () => {
    await page.goto(`${base}/console`);
    await expect(page.getByRole("heading", { name: "Sign in" }).isVisible()).resolves.toBe(true);
    await page.getByLabel("Admin token").fill("not-the-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").waitFor();
    expect(await page.getByRole("alert").textContent()).toContain("not the admin token");
    await screenshot(page, "sign-in");
    await page.getByLabel("Admin token").fill(ADMIN_TOKEN);
    await page.getByLabel("Admin token").press("Enter");
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === "vexa_console");
    expect(session).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/console" });
    expect(await page.content()).not.toContain(ADMIN_TOKEN);
  });

  it("creates a customer and a key, shown once with a copy button", async () => {
    await page.getByRole("link", { name: "Customers" }).click();
    await page.getByRole("heading", { name: "Customers" }).waitFor();
    await page.getByLabel("Email", { exact: true }).fill(state.email);
    await page.getByLabel("Name", { exact: true }).fill("Ada Lovelace");
    await page.getByLabel("Max concurrent bots").fill("2");
    await page.getByRole("button", { name: "Create customer" }).click();
    await page.getByRole("heading", { name: state.email }).waitFor();
    state.customerId = Number(/customers\/(\d+)/.exec(page.url())?.[1]);
    await page.getByRole("button", { name: "Create key" }).click();
    state.key = (await page.locator("#new-key").textContent()) ?? "";
    expect(state.key).toMatch(/^[A-Za-z0-9]{40}$/);
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"]);
    await page.getByRole("button", { name: "Copy key" }).click();
    await page.getByText("Copied to the clipboard.").waitFor();
    await screenshot(page, "customer-new-key");
    // Shown once: the customer's page never shows it again.
    await page.goto(`${base}/console/customers/${state.customerId}`);
    expect(await page.content()).not.toContain(state.key);
    await page.goto(`${base}/console/customers?q=${encodeURIComponent(state.email)}`);
    await page.getByRole("link", { name: state.email }).waitFor();
    await screenshot(page, "customers");
  });

  it("shows a bot started with that key live in the overview and in meetings", async () => {
    expect((await user("PUT", "/user/webhook", { webhook_url: hookUrl })).status).toBe(200);
    const started = await user("POST", "/bots", {
      platform: "google_meet",
      native_meeting_id: "abc-defg-hij",
    });
    expect(started.status, await started.clone().text()).toBe(201);
    await page.getByRole("link", { name: "Overview" }).click();
    const row = page.getByRole("row", { name: /google_meet\/abc-defg-hij/ });
    await row.waitFor();
    expect(await row.textContent()).toContain(state.email);
    await screenshot(page, "overview");
    await page.getByRole("link", { name: "Meetings" }).click();
    await page.getByRole("link", { name: "Live only" }).click();
    await page.getByRole("link", { name: "google_meet/abc-defg-hij" }).click();
    await page.getByRole("heading", { name: "Holders and their windows" }).waitFor();
    expect(await page.getByRole("row", { name: new RegExp(state.email) }).textContent()).toContain(
      "still holding",
    );
  });

  it("after the stop, shows the finished meeting, its usage and its delivery", async () => {
    expect((await user("DELETE", "/bots/google_meet/abc-defg-hij")).status).toBe(202);
    await waitFor(() => received.length > 0, 30_000, "the customer's webhook");
    await page.reload();
    await page.getByText("finished: wholesaler copy deleted").waitFor();
    await screenshot(page, "meetings");

    await page.getByRole("link", { name: "Usage" }).click();
    const usageRow = page.getByRole("row", { name: new RegExp(state.email) });
    await usageRow.waitFor();
    await screenshot(page, "usage");
    const csv = await page.request.get(`${base}/console/usage.csv`);
    expect(csv.headers()["content-type"]).toContain("text/csv");
    const api = await t.call("GET", "/admin/usage", { adminKey: ADMIN_TOKEN, app: "admin" });
    const mine = api.body.users.find((u: { email: string }) => u.email === state.email);
    expect(mine.bot_minutes).toBeGreaterThan(0);
    expect(await csv.text()).toContain(
      `${api.body.from},${api.body.to},${mine.user_id},${mine.email},${mine.bot_minutes},${mine.meetings}`,
    );

    await page.getByRole("link", { name: "Deliveries" }).click();
    const delivered = page.getByRole("row", { name: new RegExp(`${state.email}.*delivered`) });
    await delivered.first().waitFor();
    expect(await delivered.first().textContent()).toContain("200");
    await screenshot(page, "deliveries");
    await delivered
      .first()
      .getByRole("button", { name: /Re-send/ })
      .click();
    await page.getByText("Re-send queued").waitFor();
    await waitFor(() => received.length > 1, 30_000, "the re-sent webhook");
  });

  it("shows the wholesaler without secrets, its key's capabilities, and reconciles on demand", async () => {
    await page.getByRole("link", { name: "Wholesaler" }).click();
    await page.locator("#capabilities").waitFor();
    expect(await page.locator("#capabilities").textContent()).toMatch(
      /bots\s*bot\s*yes.*transcripts\s*tx\s*yes/s,
    );
    const text = await page.content();
    for (const secret of [t.sandboxKey, ADMIN_TOKEN, t.env.WHOLESALER_WEBHOOK_SECRET ?? "", state.key])
      expect(text).not.toContain(secret);
    await page.getByRole("button", { name: "Reconcile now" }).click();
    await page.getByText(/Reconciled: \d+ live meetings checked/).waitFor();
    await screenshot(page, "wholesaler");
  });

  it("works from the keyboard and at phone width", async () => {
    await page.goto(`${base}/console/`);
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Skip to content");
    await page.keyboard.press("Enter");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("main");
    await page.setViewportSize({ width: 390, height: 844 });
    for (const path of ["", "customers", "meetings", "usage", "deliveries", "wholesaler"]) {
      await page.goto(`${base}/console/${path}`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `/console/${path} scrolls sideways`).toBeLessThanOrEqual(0);
    }
    await screenshot(page, "overview-phone");
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it("signs out, after which pages send the browser back to sign-in", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await page.goto(`${base}/console/customers`);
    expect(page.url()).toContain("/console/sign-in");
  });
});
