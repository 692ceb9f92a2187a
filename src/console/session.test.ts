import type { FastifyReply, FastifyRequest } from "fastify";
import { describe, expect, it } from "vitest";
import { isHttps, safeNext, setCookie } from "./session.js";

describe("console session cookies", () => {
  const capture = () => {
    const set: string[] = [];
    // safe because setCookie only calls reply.header
    const reply = { header: (_n: string, v: string) => set.push(v) } as unknown as FastifyReply;
    return { set, reply };
  };

  it("are HttpOnly and SameSite=Strict always, and Secure when the browser came over HTTPS", () => {
    const plain = capture();
    setCookie(plain.reply, "vexa_console", "abc", 60, isHttps({ protocol: "http" } as FastifyRequest));
    expect(plain.set).toEqual(["vexa_console=abc; Path=/console; HttpOnly; SameSite=Strict; Max-Age=60"]);
    const tls = capture();
    setCookie(tls.reply, "vexa_console", "abc", 60, isHttps({ protocol: "https" } as FastifyRequest));
    expect(tls.set).toEqual([
      "vexa_console=abc; Path=/console; HttpOnly; SameSite=Strict; Max-Age=60; Secure",
    ]);
  });

  it("send the browser back only to a page of the console", () => {
    expect(safeNext("/console/customers?q=a")).toBe("/console/customers?q=a");
    expect(safeNext("/console")).toBe("/console");
    for (const bad of [
      "https://evil.example/",
      "//evil.example",
      "/consoleevil",
      "/console\\@evil",
      undefined,
      7,
    ])
      expect(safeNext(bad)).toBe("/console/");
  });
});
