import { Type } from "@sinclair/typebox";
import type { ReadyReport } from "../../observability/health.js";
import type { App } from "../app.js";

/** Probes and metrics, served on every port (gateway, admin, and a bot-manager-only process). */
export interface OpsDeps {
  ready(): Promise<ReadyReport>;
  metrics: { contentType: string; render(): Promise<string> };
}

const Check = (extra: Parameters<typeof Type.Object>[0] = {}) =>
  Type.Object({
    status: Type.Union([Type.Literal("ok"), Type.Literal("degraded"), Type.Literal("fail")]),
    ...extra,
  });

export const ReadySchema = Type.Object(
  {
    status: Type.Union([Type.Literal("ready"), Type.Literal("degraded"), Type.Literal("unavailable")]),
    checks: Type.Object({
      database: Check({
        latency_ms: Type.Optional(Type.Integer()),
        read_only: Type.Optional(Type.Boolean()),
      }),
      migrations: Check({ pending: Type.Optional(Type.Integer()) }),
      wholesaler: Check({
        breaker: Type.Union([Type.Literal("closed"), Type.Literal("open"), Type.Literal("half_open")]),
        auth_failing: Type.Boolean(),
        capabilities: Type.Object(
          {
            source: Type.Union([Type.Literal("auth_me"), Type.Literal("assumed"), Type.Literal("unknown")]),
            scopes: Type.Union([Type.Array(Type.String()), Type.Null()]),
            manage_bots: Type.Union([Type.Boolean(), Type.Null()]),
            read_transcripts: Type.Union([Type.Boolean(), Type.Null()]),
          },
          {
            description:
              "What the wholesaler key may do: its scopes from current Vexa's GET /auth/me, or assumed in full for a baseline wholesaler",
          },
        ),
        reason: Type.Optional(Type.String()),
      }),
      queue: Check({ schema: Type.String() }),
      process: Check({ shutting_down: Type.Boolean() }),
      redis: Type.Optional(Check()),
    }),
  },
  {
    examples: [
      {
        status: "ready",
        checks: {
          database: { status: "ok", latency_ms: 2, read_only: false },
          migrations: { status: "ok", pending: 0 },
          wholesaler: {
            status: "ok",
            breaker: "closed",
            auth_failing: false,
            capabilities: {
              source: "auth_me",
              scopes: ["bot", "tx"],
              manage_bots: true,
              read_transcripts: true,
            },
          },
          queue: { status: "ok", schema: "pgboss" },
          process: { status: "ok", shutting_down: false },
          redis: { status: "ok" },
        },
      },
    ],
  },
);

export function registerHealthRoutes(app: App, ops: OpsDeps | undefined): void {
  const tags = ["ops"];
  app.get(
    "/health",
    {
      schema: {
        tags,
        summary: "Liveness: the process is up and serving HTTP",
        response: { 200: Type.Object({ status: Type.Literal("ok") }, { examples: [{ status: "ok" }] }) },
      },
    },
    async () => ({ status: "ok" as const }),
  );
  if (!ops) return;

  app.get(
    "/ready",
    {
      schema: {
        tags,
        summary: "Readiness: database, migrations, job queue and wholesaler checks",
        description:
          "200 when this instance should get traffic (`ready`, or `degraded` while the wholesaler or Redis is failing: local reads still work, Redis has in-process fallbacks); 503 `unavailable` when the database is unreachable or read-only, migrations or the job queue are not right, or the process is shutting down.",
        response: { 200: ReadySchema, 503: ReadySchema },
      },
    },
    async (_request, reply) => {
      const report = await ops.ready();
      return reply.code(report.status === "unavailable" ? 503 : 200).send(report);
    },
  );

  app.get(
    "/metrics",
    {
      schema: {
        tags,
        summary: "Prometheus metrics (text exposition format)",
        response: {
          200: {
            description: "Prometheus text format 0.0.4",
            content: {
              "text/plain": { schema: Type.String({ examples: ["retailer_http_requests_total{...} 1"] }) },
            },
          },
        },
      },
    },
    async (_request, reply) => reply.type(ops.metrics.contentType).send(await ops.metrics.render()),
  );
}
