import { Type } from "@sinclair/typebox";
import type { Platform } from "../../errors.js";
import {
  type ConsoleMeeting,
  getConsoleMeeting,
  listConsoleMeetings,
} from "../../services/console-meetings.js";
import { getTranscript } from "../../services/transcripts.js";
import { type ConsoleApp, type ConsoleEnv, sendPage } from "../env.js";
import { fmt, type Html, html } from "../html.js";
import { page } from "../layout.js";
import { pager } from "../widgets.js";

const PAGE = 50;

function meetingRows(items: ConsoleMeeting[]): Html {
  return html`<table><caption class="visually-hidden">Meetings, newest first</caption>
<thead><tr><th scope="col">Meeting</th><th scope="col">Status</th><th scope="col">Finalization</th><th scope="col">Holders</th><th scope="col">Started</th><th scope="col">Ended</th></tr></thead>
<tbody>${items.map(
    (
      m,
    ) => html`<tr><td><a href="/console/meetings/${m.id}">${m.platform}/${m.native_meeting_id}</a></td><td>${m.status}</td>
<td>${m.stage}</td><td>${m.holders.map((h) => h.email).join(", ")}</td><td>${fmt.time(m.start_time ?? m.created_at)}</td><td>${fmt.time(m.end_time)}</td></tr>`,
  )}</tbody></table>`;
}

/** Each holder's transcript exactly as GET /transcripts answers them: their window, live or stored. */
async function holderTranscripts(env: ConsoleEnv, m: ConsoleMeeting): Promise<Html[]> {
  return Promise.all(
    m.holders.map(async (h) => {
      const title = html`<h3>${h.email}</h3>`;
      if (!m.native_meeting_id) return html`${title}<p>No meeting id.</p>`;
      try {
        const { transcript, stale } = await getTranscript(
          env.app.transcriptsCtx,
          h.user_id,
          m.platform as Platform,
          m.native_meeting_id,
        );
        if (transcript.id !== m.id)
          return html`${title}<p>This customer has a newer meeting with the same id; its transcript is shown there.</p>`;
        return html`${title}<p>${transcript.segments.length} segments${stale ? " (the wholesaler is unreachable: last checkpoint)" : ""}.</p>
${
  transcript.segments.length
    ? html`<details><summary>Show the transcript ${h.email} sees</summary><div class="segments"><table>
<thead><tr><th scope="col" class="num">Start (s)</th><th scope="col">Speaker</th><th scope="col">Text</th></tr></thead>
<tbody>${transcript.segments.map(
        (s) =>
          html`<tr><td class="num">${s.start.toFixed(1)}</td><td>${s.speaker ?? ""}</td><td>${s.text}</td></tr>`,
      )}</tbody></table></div></details>`
    : ""
}`;
      } catch (err) {
        return html`${title}<p class="error">Transcript unavailable: ${err instanceof Error ? err.message : "error"}</p>`;
      }
    }),
  );
}

/** Meetings: live and recent shared bots, their holders and windows, finalization stage, each holder's transcript. */
export function registerMeetingPages(c: ConsoleApp, env: ConsoleEnv): void {
  const { ctx } = env.app;

  c.get(
    "/meetings",
    {
      schema: {
        hide: true,
        querystring: Type.Object({
          show: Type.Optional(Type.Union([Type.Literal("live"), Type.Literal("all")])),
          skip: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000 })),
        }),
        response: { 200: Type.String() },
      },
    },
    async (request, reply) => {
      const show = request.query.show ?? "all";
      const skip = request.query.skip ?? 0;
      const result = await listConsoleMeetings(ctx, { live: show === "live", skip, limit: PAGE });
      const tab = (id: string, label: string) =>
        html`<a href="/console/meetings?show=${id}"${show === id ? html` aria-current="page"` : ""}>${label}</a>`;
      return sendPage(
        reply,
        page(
          { assets: env.assets, csrf: request.consoleSession?.csrf ?? "" },
          { title: "Meetings", current: "meetings" },
          html`<nav class="toolbar" aria-label="Which meetings">${tab("all", "All, newest first")} ${tab("live", "Live only")}</nav>
${result.items.length ? meetingRows(result.items) : html`<p>No meetings.</p>`}
${pager("/console/meetings", { show }, skip, PAGE, result.total)}`,
        ),
      );
    },
  );

  c.get(
    "/meetings/:id",
    {
      schema: {
        hide: true,
        params: Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2147483647 }) }),
        response: { 200: Type.String() },
      },
    },
    async (request, reply) => {
      const m = await getConsoleMeeting(ctx, request.params.id);
      const transcripts = await holderTranscripts(env, m);
      return sendPage(
        reply,
        page(
          { assets: env.assets, csrf: request.consoleSession?.csrf ?? "" },
          { title: `Meeting ${m.platform}/${m.native_meeting_id}`, current: "meetings" },
          html`<dl class="facts">
  <dt>Meeting id</dt><dd>${m.id}</dd>
  <dt>Status</dt><dd>${m.status}</dd>
  <dt>Finalization</dt><dd>${m.stage}</dd>
  <dt>Wholesaler bot</dt><dd>${m.bot_container_id ?? "—"}</dd>
  <dt>Started</dt><dd>${fmt.time(m.start_time)}</dd>
  <dt>Ended</dt><dd>${fmt.time(m.end_time)}</dd>
</dl>
<h2>Holders and their windows</h2>
<table><caption class="visually-hidden">Customers holding this bot</caption>
<thead><tr><th scope="col">Customer</th><th scope="col">Status</th><th scope="col">Held from</th><th scope="col">Until</th></tr></thead>
<tbody>${m.holders.map(
            (h) => html`<tr><td>${h.email}</td><td>${h.status}</td><td>${fmt.time(h.attached_at)}</td>
<td>${h.detached_at || h.end_time || m.end_time ? fmt.time(h.detached_at ?? h.end_time ?? m.end_time) : "still holding"}</td></tr>`,
          )}</tbody></table>
<h2>Transcripts as each holder sees them</h2>
${transcripts}`,
        ),
      );
    },
  );
}
