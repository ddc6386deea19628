// Where a body ends (BodyFramer): Content-Length, chunked split at every
// possible point, trailers, pipelined messages, malformed chunk framing, and
// the response rules (HEAD/204/304/1xx none, otherwise length, chunked or close).
import { describe, expect, it } from "vitest";
import { BodyFramer } from "../../actors/proxy/body-framing.js";
import { Framing, HttpParseError } from "../../actors/proxy/http1-parser.js";
import { prng } from "../helpers/prng.js";

/** Feeds `pieces` to a fresh framer; returns the body bytes it claimed and what followed the end. */
function frame(framing: Framing, length: number, pieces: Buffer[]): { body: string; rest: string; done: boolean } {
  const f = new BodyFramer();
  f.reset(framing, length, 400);
  let body = "";
  let rest = "";
  for (const p of pieces) {
    if (f.done) {
      rest += p.toString("latin1");
      continue;
    }
    const end = f.advance(p, 0);
    body += p.toString("latin1", 0, end);
    rest += p.toString("latin1", end);
  }
  return { body, rest, done: f.done };
}

/** `text` cut at the given offsets. */
function split(text: string, cuts: number[]): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  for (const c of [...cuts].sort((a, b) => a - b)) {
    out.push(Buffer.from(text.slice(from, c), "latin1"));
    from = c;
  }
  out.push(Buffer.from(text.slice(from), "latin1"));
  return out;
}

const NEXT = "GET /next HTTP/1.1\r\nHost: h\r\n\r\n";

describe("BodyFramer: Content-Length", () => {
  it("claims exactly N bytes, leaving the pipelined request", () => {
    expect(frame(Framing.Length, 5, [Buffer.from(`hello${NEXT}`)])).toEqual({ body: "hello", rest: NEXT, done: true });
    expect(frame(Framing.Length, 5, split(`hello${NEXT}`, [1, 3, 7]))).toEqual({ body: "hello", rest: NEXT, done: true });
    expect(frame(Framing.Length, 5, [Buffer.from("hel")])).toEqual({ body: "hel", rest: "", done: false });
  });

  it("0 and None are done at once", () => {
    expect(frame(Framing.Length, 0, [Buffer.from(NEXT)])).toEqual({ body: "", rest: NEXT, done: true });
    expect(frame(Framing.None, 0, [Buffer.from(NEXT)])).toEqual({ body: "", rest: NEXT, done: true });
  });

  it("UntilClose claims everything and never ends", () => {
    expect(frame(Framing.UntilClose, 0, [Buffer.from("abc"), Buffer.from(NEXT)])).toEqual({ body: `abc${NEXT}`, rest: "", done: false });
  });
});

describe("BodyFramer: chunked", () => {
  const bodies = [
    "5\r\nhello\r\n0\r\n\r\n",
    "5;ext=1;x=\"y\"\r\nhello\r\nA\r\n0123456789\r\n0\r\n\r\n",
    "3;e\r\nabc\r\n0\r\nTrailer-A: 1\r\nTrailer-B: 2\r\n\r\n",
    "1\r\n\r\r\n0;last\r\n\r\n",
    "ff\r\n" + "x".repeat(255) + "\r\n0\r\n\r\n",
  ];

  it.each(bodies)("finds the end of %j in one piece and before a pipelined request", (body) => {
    expect(frame(Framing.Chunked, 0, [Buffer.from(body + NEXT, "latin1")])).toEqual({ body, rest: NEXT, done: true });
  });

  it("finds the same end for every split into 1..4 pieces (fuzzed split points)", () => {
    const rand = prng(42);
    for (const body of bodies) {
      const text = body + NEXT;
      // Every single cut point, then random multi-cuts.
      for (let c = 0; c <= text.length; c++) expect(frame(Framing.Chunked, 0, split(text, [c]))).toEqual({ body, rest: NEXT, done: true });
      for (let i = 0; i < 300; i++) {
        const cuts = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => Math.floor(rand() * (text.length + 1)));
        expect(frame(Framing.Chunked, 0, split(text, cuts))).toEqual({ body, rest: NEXT, done: true });
      }
    }
  });

  it("byte at a time", () => {
    const body = bodies[2]!;
    const text = body + NEXT;
    expect(frame(Framing.Chunked, 0, split(text, Array.from({ length: text.length }, (_, i) => i)))).toEqual({ body, rest: NEXT, done: true });
  });

  it("is not done before the final CRLF", () => {
    expect(frame(Framing.Chunked, 0, [Buffer.from("5\r\nhello\r\n0\r\n")]).done).toBe(false);
    expect(frame(Framing.Chunked, 0, [Buffer.from("5\r\nhello\r\n0\r\nX: 1\r\n")]).done).toBe(false);
  });

  it.each([
    ["a non-hex size", "g\r\n"],
    ["an empty size", "\r\n"],
    ["a negative size", "-1\r\n"],
    ["an overlong size", "10000000000000\r\n"],
    ["data longer than its size", "3\r\nabcd\r\n"],
    ["a bare LF after the size", "3\nabc\r\n"],
    ["a bare CR after the size", "3\rabc\r\n"],
    ["a bare LF in an extension", "3;a\nabc\r\n"],
    ["a bare LF after the data", "3\r\nabc\n0\r\n\r\n"],
    ["an obs-fold trailer", "0\r\nX: 1\r\n y\r\n\r\n"],
    ["a bare LF in a trailer", "0\r\nX: 1\n\r\n"],
    ["a bare CR at the end", "0\r\n\rX"],
    ["junk after the size", "3x\r\nabc\r\n"],
    ["whitespace after the size", "3 \r\nabc\r\n"],
    ["whitespace before an extension", "3 ;a\r\nabc\r\n"],
    ["an empty extension name", "3;=a\r\nabc\r\n"],
    ["a control character in an extension", "3;a=\x01\r\nabc\r\n"],
    ["a trailer without a name", "0\r\n: 1\r\n\r\n"],
    ["a control character in a trailer", "0\r\nX: \x7f\r\n\r\n"],
    ["a Content-Length trailer", "0\r\nContent-Length: 1\r\n\r\n"],
    ["a Connection trailer", "0\r\nconnection: close\r\n\r\n"],
  ])("refuses %s", (_what, text) => {
    const f = new BodyFramer();
    f.reset(Framing.Chunked, 0, 400);
    expect(() => f.advance(Buffer.from(text, "latin1"), 0)).toThrow(HttpParseError);
  });

  it("reports response errors as 502", () => {
    const f = new BodyFramer();
    f.reset(Framing.Chunked, 0, 502);
    expect(() => f.advance(Buffer.from("z\r\n"), 0)).toThrow(expect.objectContaining({ status: 502 }) as Error);
  });

  it("advances from an offset within a buffer", () => {
    const f = new BodyFramer();
    f.reset(Framing.Chunked, 0, 400);
    const buf = Buffer.from(`HEAD3\r\nabc\r\n0\r\n\r\n${NEXT}`);
    expect(f.advance(buf, 4)).toBe(buf.length - NEXT.length);
    expect(f.done).toBe(true);
  });
});
