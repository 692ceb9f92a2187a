import type { FastifySchemaValidationError } from "fastify";
import { PLATFORMS, platformEnumError, type ValidationItem } from "../errors.js";

const LOC_ROOT: Record<string, string> = {
  body: "body",
  params: "path",
  querystring: "query",
  headers: "header",
};

const TYPE_MESSAGES: Record<string, [string, string]> = {
  string: ["str type expected", "type_error.str"],
  integer: ["value is not a valid integer", "type_error.integer"],
  number: ["value is not a valid float", "type_error.float"],
  boolean: ["value could not be parsed to a boolean", "type_error.bool"],
  object: ["value is not a valid dict", "type_error.dict"],
  array: ["value is not a valid list", "type_error.list"],
};

/** Turns AJV errors into the pydantic-v1 items Vexa's FastAPI services answer with. */
export function toValidationItems(errors: FastifySchemaValidationError[], context: string): ValidationItem[] {
  const root = LOC_ROOT[context] ?? context;
  const items: ValidationItem[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    const path = pathOf(e.instancePath);
    const item = toItem(e, root, path);
    if (!item) continue;
    const key = JSON.stringify(item.loc);
    if (seen.has(key)) continue;
    seen.add(key);
    items.push(item);
  }
  return items.length > 0 ? items : [{ loc: [root], msg: "invalid request", type: "value_error" }];
}

function pathOf(instancePath: string): (string | number)[] {
  return instancePath
    .split("/")
    .filter(Boolean)
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

function toItem(
  e: FastifySchemaValidationError,
  root: string,
  path: (string | number)[],
): ValidationItem | null {
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "required":
      return {
        loc: [root, ...path, String(params.missingProperty)],
        msg: "field required",
        type: "value_error.missing",
      };
    case "enum": {
      const allowed = params.allowedValues as unknown[];
      if (allowed.length === PLATFORMS.length && PLATFORMS.every((p) => allowed.includes(p))) {
        return platformEnumError([root, ...path]);
      }
      const permitted = allowed.map((v) => `'${String(v)}'`).join(", ");
      return {
        loc: [root, ...path],
        msg: `value is not a valid enumeration member; permitted: ${permitted}`,
        type: "type_error.enum",
        ctx: { enum_values: allowed },
      };
    }
    case "type": {
      const wanted = String(params.type).split(",")[0] ?? "";
      const [msg, type] = TYPE_MESSAGES[wanted] ?? ["invalid type", "type_error"];
      return { loc: path.length === 0 && root === "body" ? [root] : [root, ...path], msg, type };
    }
    case "format":
      if (params.format === "email") {
        return { loc: [root, ...path], msg: "value is not a valid email address", type: "value_error.email" };
      }
      if (params.format === "uri") {
        return { loc: [root, ...path], msg: "invalid or missing URL scheme", type: "value_error.url.scheme" };
      }
      return { loc: [root, ...path], msg: `invalid ${String(params.format)} format`, type: "value_error" };
    case "maxLength":
      return {
        loc: [root, ...path],
        msg: `ensure this value has at most ${String(params.limit)} characters`,
        type: "value_error.any_str.max_length",
        ctx: { limit_value: params.limit },
      };
    case "minLength":
      return {
        loc: [root, ...path],
        msg: `ensure this value has at least ${String(params.limit)} characters`,
        type: "value_error.any_str.min_length",
        ctx: { limit_value: params.limit },
      };
    case "minimum":
    case "maximum": {
      const ge = e.keyword === "minimum";
      return {
        loc: [root, ...path],
        msg: `ensure this value is ${ge ? "greater" : "less"} than or equal to ${String(params.limit)}`,
        type: ge ? "value_error.number.not_ge" : "value_error.number.not_le",
        ctx: { limit_value: params.limit },
      };
    }
    case "anyOf":
      // The branch errors (e.g. "must be string", "must be null") were already reported, or say nothing useful.
      return null;
    default:
      return { loc: [root, ...path], msg: e.message ?? "invalid value", type: "value_error" };
  }
}
