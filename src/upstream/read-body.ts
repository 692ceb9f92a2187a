import type { Readable } from "node:stream";

/**
 * A response body, whole. With `known` (an earlier body), chunks are compared with it as they arrive and an
 * identical body answers `known` itself: nothing is concatenated, and the caller knows the bytes are unchanged by
 * identity alone. An unchanged 60 KB live transcript (the usual cache-off poll) then allocates no second copy.
 */
export function readBody(body: Readable, known?: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    let same = known !== undefined;
    body.on("data", (chunk: Buffer) => {
      if (same && known) {
        const end = length + chunk.length;
        same = end <= known.length && chunk.compare(known, length, end) === 0;
      }
      chunks.push(chunk);
      length += chunk.length;
    });
    body.once("error", reject);
    body.once("end", () =>
      resolve(same && known && length === known.length ? known : Buffer.concat(chunks, length)),
    );
  });
}
