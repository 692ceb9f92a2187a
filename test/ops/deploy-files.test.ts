import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CONFIG_VARIABLES, SECRET_VARIABLES } from "../../src/config.js";

const root = join(import.meta.dirname, "..", "..");
const read = (file: string) => readFileSync(join(root, file), "utf8");
/** Variables a file mentions that the retailer itself never reads. */
const COMPOSE_ONLY = ["COMPOSE_PROFILES"];
const RETAILER_SERVICES = ["api-gateway", "admin-api", "bot-manager"];

function envExampleNames(): { set: string[]; all: string[] } {
  const set: string[] = [];
  const all: string[] = [];
  for (const line of read("env-example.retailer").split("\n")) {
    const m = /^(#\s*)?([A-Z][A-Z0-9_]*)=/.exec(line);
    if (!m?.[2]) continue;
    all.push(m[2]);
    if (!m[1]) set.push(m[2]);
  }
  return { set, all };
}

interface Compose {
  services: Record<
    string,
    {
      environment?: Record<string, unknown>;
      profiles?: string[];
      image?: string;
      build?: unknown;
      healthcheck?: unknown;
    }
  >;
  "x-retailer-not-applicable"?: Record<string, string>;
}
const compose = () => parse(read("docker-compose.yml"), { merge: true }) as Compose;

describe("env-example.retailer", () => {
  it("documents every variable the config reads, each with a comment line above it", () => {
    const { all } = envExampleNames();
    expect(CONFIG_VARIABLES.filter((v) => !all.includes(v))).toEqual([]);
    const lines = read("env-example.retailer").split("\n");
    for (const v of CONFIG_VARIABLES) {
      const i = lines.findIndex((l) => new RegExp(`^(#\\s*)?${v}=`).test(l));
      expect(lines[i - 1], `comment above ${v}`).toMatch(/^# /);
    }
  });

  it("names no variable the config does not read (besides compose's own)", () => {
    const { all } = envExampleNames();
    expect(all.filter((v) => !CONFIG_VARIABLES.includes(v) && !COMPOSE_ONLY.includes(v))).toEqual([]);
    expect(new Set(all).size, "each variable once").toBe(all.length);
  });

  it("holds no real-looking secret: secrets are unset or placeholders", () => {
    const { set } = envExampleNames();
    const text = read("env-example.retailer");
    for (const v of SECRET_VARIABLES.filter((s) => set.includes(s) && s !== "DB_PASSWORD")) {
      expect(new RegExp(`^${v}=change-me`, "m").test(text), v).toBe(true);
    }
  });
});

describe("docker-compose.yml", () => {
  it("has the plan's services and none of the removed ones", () => {
    const services = Object.keys(compose().services);
    for (const s of [...RETAILER_SERVICES, "postgres", "redis"]) expect(services).toContain(s);
    for (const s of ["whisperlive", "whisperlive-cpu", "transcription-collector", "traefik"])
      expect(services).not.toContain(s);
    // Anything else must be opt-in through a profile.
    for (const s of services.filter((x) => ![...RETAILER_SERVICES, "postgres", "redis"].includes(x))) {
      expect(compose().services[s]?.profiles, s).toBeDefined();
    }
  });

  it("runs every role from the one image, each with its ROLE", () => {
    const c = compose();
    for (const s of RETAILER_SERVICES) {
      expect(c.services[s]?.image, s).toBe("vexa-retailer:latest");
      expect(c.services[s]?.environment?.ROLE, s).toBe(s);
    }
    expect(c.services.postgres?.image).toMatch(/^postgres:15-alpine$/);
    expect(JSON.stringify(c.services.postgres?.healthcheck)).toContain("pg_isready");
    expect(c.services.redis?.image).toMatch(/^redis:/);
  });

  it("sets every config variable on every retailer service, or lists it as not applicable; and nothing unknown", () => {
    const c = compose();
    const notApplicable = Object.keys(c["x-retailer-not-applicable"] ?? {});
    expect(
      notApplicable.filter((v) => !CONFIG_VARIABLES.includes(v)),
      "unknown not-applicable names",
    ).toEqual([]);
    for (const s of RETAILER_SERVICES) {
      const env = Object.keys(c.services[s]?.environment ?? {});
      expect(
        env.filter((v) => !CONFIG_VARIABLES.includes(v)),
        `${s}: unknown variables`,
      ).toEqual([]);
      const missing = CONFIG_VARIABLES.filter((v) => !env.includes(v) && !notApplicable.includes(v));
      expect(missing, `${s}: missing variables`).toEqual([]);
      expect(
        env.filter((v) => notApplicable.includes(v)),
        `${s}: set although not applicable`,
      ).toEqual([]);
    }
  });

  it("interpolates only variables the config reads (or compose's own)", () => {
    const names = [...read("docker-compose.yml").matchAll(/(?<!\$)\$\{([A-Z][A-Z0-9_]*)/g)].map(
      (m) => m[1] ?? "",
    );
    expect(names.length).toBeGreaterThan(10);
    expect(
      [...new Set(names)].filter((v) => !CONFIG_VARIABLES.includes(v) && !COMPOSE_ONLY.includes(v)),
    ).toEqual([]);
  });

  it("is valid for docker compose, when its CLI plugin is installed", (ctx) => {
    const probe = spawnSync("docker", ["compose", "version"], { encoding: "utf8" });
    if (probe.status !== 0) {
      console.warn(
        "NOTICE: `docker compose` is not available; docker-compose.yml was checked by the YAML parser only.",
      );
      ctx.skip();
    }
    const res = spawnSync("docker", ["compose", "-f", "docker-compose.yml", "config", "--quiet"], {
      cwd: root,
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "" },
    });
    expect(res.status, res.stderr).toBe(0);
  });
});

describe("Dockerfile", () => {
  const text = () => read("Dockerfile");
  it("builds in one stage and runs production dependencies only, as a non-root user, with a health check", () => {
    const t = text();
    // The Node the project is pinned to (.nvmrc, the `node` dev dependency).
    const node = read(".nvmrc").trim();
    expect(t.match(new RegExp(`^FROM node:${node}-slim AS \\w+`, "gm"))?.length).toBe(2);
    expect(t).toMatch(/RUN npm ci\b(?!.*--omit=dev)/);
    expect(t).toMatch(/npm run build/);
    expect(t).toMatch(/npm ci --omit=dev/);
    expect(t).toMatch(/^USER node$/m);
    expect(t).toMatch(/^HEALTHCHECK .*healthcheck\.js/m);
    expect(t).toMatch(/^COPY migrations \.\/migrations$/m);
    expect(t).toMatch(/^CMD \["node", ?(?:"--[\w-]+=?\w*", ?)*"dist\/main\.js"\]$/m);
  });

  it("runs the retailer exactly as npm start does: the same node flags and environment (the bench measures those)", () => {
    const start: string = JSON.parse(read("package.json")).scripts.start;
    const [, envPart = "", flagPart = ""] =
      /^((?:[A-Z_]+=\S+ )*)node ((?:--\S+ )*)dist\/main\.js$/.exec(start) ?? [];
    const cmd = /^CMD \[(.*)\]$/m.exec(text())?.[1] ?? "";
    const cmdWords = JSON.parse(`[${cmd}]`) as string[];
    expect(cmdWords).toEqual(["node", ...flagPart.trim().split(" ").filter(Boolean), "dist/main.js"]);
    for (const pair of envPart.trim().split(" ").filter(Boolean)) {
      const [k, v] = pair.split("=");
      expect(text()).toMatch(new RegExp(`^\\s+${k}=${v}$|^ENV .*\\b${k}=${v}\\b`, "m"));
    }
    expect(flagPart.length + envPart.length).toBeGreaterThan(0);
  });

  it("keeps secrets and local state out of the build context", () => {
    const ignored = read(".dockerignore").split("\n");
    for (const p of [".env", "node_modules", "data", ".git"]) expect(ignored).toContain(p);
  });
});

describe("Makefile", () => {
  it("has the plan's targets, and setup-retailer never overwrites an existing .env", () => {
    const t = read("Makefile");
    for (const target of ["setup-retailer", "up", "down", "logs", "test", "bench"])
      expect(t).toMatch(new RegExp(`^${target}:`, "m"));
    expect(t).toMatch(/if \[ ! -f \.env \]; then cp env-example\.retailer \.env/);
    expect(t).toMatch(/\$\(COMPOSE\) up -d/);
  });
});
