import type { WholesalerClient } from "./client.js";
import { isUpstreamError } from "./errors.js";

/**
 * What our wholesaler key may do. Current Vexa scopes its keys (`bot`: the /bots routes; `tx`: meetings and
 * transcripts) and says which a key holds at GET /auth/me; the baseline has neither, so there every key may
 * do everything. Checked once at start-up, in the background, and reported by /ready and the log.
 */
export interface WholesalerCapabilities {
  /** `auth_me`: the key's own scopes; `assumed`: a wholesaler without /auth/me; `unknown`: no answer yet. */
  source: "auth_me" | "assumed" | "unknown";
  scopes: string[] | null;
  manage_bots: boolean | null;
  read_transcripts: boolean | null;
}

export interface CapabilityCheck {
  current(): WholesalerCapabilities;
  /** What the operator must fix, e.g. "the wholesaler key cannot read transcripts (scope tx)"; empty when fine. */
  problems(): string[];
  /** Asks now and, while the wholesaler cannot answer, again after 1 s, 2 s, 4 s, … up to `retryMs`. Never throws. */
  start(): void;
  /** Resolves once an answer is known (or the check is closed). */
  settled(): Promise<void>;
  close(): void;
}

export interface CapabilityCheckOptions {
  client: Pick<WholesalerClient, "getIdentity">;
  log: { warn(o: object, msg?: string): void; error(o: object, msg?: string): void };
  retryMs?: number;
}

const UNKNOWN: WholesalerCapabilities = {
  source: "unknown",
  scopes: null,
  manage_bots: null,
  read_transcripts: null,
};

export function capabilitiesFromScopes(scopes: string[]): WholesalerCapabilities {
  return {
    source: "auth_me",
    scopes,
    manage_bots: scopes.includes("bot"),
    read_transcripts: scopes.includes("tx"),
  };
}

export function capabilityProblems(c: WholesalerCapabilities): string[] {
  const out: string[] = [];
  if (c.manage_bots === false) out.push("the wholesaler key cannot manage bots (it lacks scope bot)");
  if (c.read_transcripts === false)
    out.push("the wholesaler key cannot read transcripts (it lacks scope tx)");
  return out;
}

export function createCapabilityCheck(o: CapabilityCheckOptions): CapabilityCheck {
  const retryMs = o.retryMs ?? 30_000;
  let state = UNKNOWN;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  // A first answer lost to a busy start-up should not leave the key's scopes unknown for a whole retryMs.
  let nextRetryMs = Math.min(1000, retryMs);
  let resolveSettled: () => void = () => undefined;
  const settledP = new Promise<void>((r) => {
    resolveSettled = r;
  });

  const settle = (c: WholesalerCapabilities) => {
    state = c;
    const problems = capabilityProblems(c);
    if (problems.length > 0)
      o.log.error({ scopes: c.scopes, problems }, `wholesaler key: ${problems.join("; ")}`);
    resolveSettled();
  };

  const ask = async () => {
    if (closed) return;
    try {
      settle(capabilitiesFromScopes((await o.client.getIdentity()).scopes));
    } catch (err) {
      if (isUpstreamError(err) && err.kind === "unsupported") {
        settle({ source: "assumed", scopes: null, manage_bots: true, read_transcripts: true });
        return;
      }
      o.log.warn(
        { err: err instanceof Error ? err.message : String(err), retryMs: nextRetryMs },
        "could not ask the wholesaler what its key may do; will retry",
      );
      if (!closed) timer = setTimeout(() => void ask(), nextRetryMs).unref();
      nextRetryMs = Math.min(nextRetryMs * 2, retryMs);
    }
  };

  return {
    current: () => ({ ...state }),
    problems: () => capabilityProblems(state),
    start: () => void ask(),
    settled: () => settledP,
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      resolveSettled();
    },
  };
}
