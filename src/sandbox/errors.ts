/** An HTTP answer in Vexa's `{"detail": ...}` shape, thrown by the sandbox's handlers and turned into a reply in one place. */
export class SandboxHttpError extends Error {
  constructor(
    readonly status: number,
    readonly detail: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof detail === "string" ? detail : `HTTP ${status}`);
  }
}

/** A pydantic-v1 validation item (baseline §2.2). */
export interface ValidationItem {
  loc: (string | number)[];
  msg: string;
  type: string;
  ctx?: Record<string, unknown>;
}

export const invalid = (items: ValidationItem[]) => new SandboxHttpError(422, items);
