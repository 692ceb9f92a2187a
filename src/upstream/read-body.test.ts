import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { readBody } from "./read-body.js";

const stream = (...parts: string[]) => Readable.from(parts.map((p) => Buffer.from(p)));

describe("readBody", () => {
  it("joins the chunks", async () => {
    expect((await readBody(stream("ab", "cd", "e"))).toString()).toBe("abcde");
    expect((await readBody(stream())).length).toBe(0);
  });

  it("answers the known body itself when the bytes are the same, however they were chunked", async () => {
    const known = Buffer.from("abcdef");
    expect(await readBody(stream("abc", "def"), known)).toBe(known);
    expect(await readBody(stream("a", "bcde", "f"), known)).toBe(known);
  });

  it("answers new bytes for any difference: a changed byte, a prefix, a longer body", async () => {
    const known = Buffer.from("abcdef");
    for (const parts of [
      ["abc", "deF"],
      ["abc", "de"],
      ["abc", "def", "g"],
      ["Abc", "def"],
    ]) {
      const got = await readBody(stream(...parts), known);
      expect(got).not.toBe(known);
      expect(got.toString()).toBe(parts.join(""));
    }
  });

  it("rejects with the stream's error", async () => {
    const failing = new Readable({
      read() {
        this.destroy(new Error("socket hang up"));
      },
    });
    await expect(readBody(failing, Buffer.from("x"))).rejects.toThrow("socket hang up");
  });
});
