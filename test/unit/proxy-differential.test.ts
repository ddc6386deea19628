// The proxy's request parser against llhttp (node:http as the oracle, see
// test/helpers/http-oracle.ts): the checked-in corpus, then a seeded
// mutational fuzz run of CORRAL_FUZZ_MS (default 30 s; CORRAL_FUZZ_SEED picks
// the seed). Any difference in accept/refuse or in where a message ends fails,
// unless Corral refused for a reason listed in STRICTER.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NodeOracle, corralReads, truncateAtLast, type Reading } from "../helpers/http-oracle.js";
import { prng } from "../helpers/prng.js";
import { CORPUS, STRICTER } from "./proxy-differential-corpus.js";

const FUZZ_MS = Number(process.env.CORRAL_FUZZ_MS ?? 30_000);
const FUZZ_SEED = Number(process.env.CORRAL_FUZZ_SEED ?? 16);

let oracle: NodeOracle;
beforeAll(async () => {
  oracle = await NodeOracle.start();
});
afterAll(async () => {
  await oracle?.close();
});

type Verdict = { kind: "same" } | { kind: "stricter"; reason: string } | { kind: "different" };

function sameRequests(a: Reading["requests"], b: Reading["requests"]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** How Corral's reading compares with llhttp's (both cut after a connection's last request). */
function compare(corral: Reading, node: Reading): Verdict {
  const c = truncateAtLast(corral);
  const n = truncateAtLast(node);
  if (sameRequests(c.requests, n.requests)) {
    if ((c.error === null) === (n.error === null)) return { kind: "same" };
    // Bytes cut short by EOF are not a disagreement about where messages end
    // (llhttp reports some of them, e.g. after an interim 100, and not others).
    if (c.error?.startsWith("incomplete") === true) return { kind: "same" };
  }
  // Corral refused where llhttp read on: allowed for a listed reason, when what came before was read the same.
  const reason = c.error === null ? undefined : STRICTER[c.error];
  if (reason !== undefined && sameRequests(c.requests, n.requests.slice(0, c.requests.length))) return { kind: "stricter", reason };
  return { kind: "different" };
}

async function run(input: Buffer): Promise<{ verdict: Verdict; corral: Reading; node: Reading }> {
  const corral = corralReads(input);
  const node = await oracle.reads(input);
  return { verdict: compare(corral, node), corral, node };
}

function describeCase(input: Buffer, corral: Reading, node: Reading): string {
  return `input ${JSON.stringify(input.toString("latin1"))}\n  corral ${JSON.stringify(corral)}\n  llhttp ${JSON.stringify(node)}`;
}

describe("request parsing agrees with llhttp", () => {
  it("on every corpus entry (or Corral is stricter, for a listed reason)", async () => {
    const failures: string[] = [];
    const reasonsUsed = new Set<string>();
    for (const c of CORPUS) {
      const input = Buffer.from(c.input, "latin1");
      const { verdict, corral, node } = await run(input);
      if (verdict.kind === "different") failures.push(`${c.name}: ${describeCase(input, corral, node)}`);
      if (verdict.kind === "stricter") reasonsUsed.add(verdict.reason);
    }
    expect(failures).toEqual([]);
    // The table lists no reason the corpus does not show.
    expect([...reasonsUsed].sort()).toEqual(Object.values(STRICTER).sort());
  });

  it("the corpus really has both outcomes (accepted and refused inputs)", async () => {
    let accepted = 0;
    let refused = 0;
    for (const c of CORPUS) {
      const r = corralReads(Buffer.from(c.input, "latin1"));
      if (r.error === null) accepted++;
      else refused++;
    }
    expect(accepted).toBeGreaterThan(30);
    expect(refused).toBeGreaterThan(30);
  });

  it(`on mutations of the corpus for ${FUZZ_MS} ms (seed ${FUZZ_SEED})`, { timeout: FUZZ_MS + 60_000 }, async () => {
    const random = prng(FUZZ_SEED);
    const inputs = CORPUS.map((c) => Buffer.from(c.input, "latin1"));
    const failures: string[] = [];
    const counts = { same: 0, stricter: 0, different: 0 };
    const deadline = Date.now() + FUZZ_MS;
    let n = 0;
    while (Date.now() < deadline && failures.length < 5) {
      const input = mutate(inputs, random);
      const { verdict, corral, node } = await run(input);
      counts[verdict.kind]++;
      n++;
      if (verdict.kind === "different") failures.push(`case ${n}: ${describeCase(input, corral, node)}`);
    }
    expect(failures, `seed ${FUZZ_SEED}`).toEqual([]);
    expect(n).toBeGreaterThan(100);
    process.stdout.write(`proxy differential fuzz: ${n} inputs, seed ${FUZZ_SEED}: ${counts.same} read the same, ${counts.stricter} refused by Corral only (listed reasons)\n`);
  });
});

const BYTES = [0, 9, 10, 13, 32, 34, 44, 48, 49, 58, 59, 61, 65, 92, 97, 0x7f, 0x80, 0xff];
const SNIPPETS = [
  "\r\n",
  "\n",
  "\r",
  " ",
  "\t",
  ",",
  ";",
  "=",
  '"',
  "0",
  "f",
  "chunked",
  "Content-Length: 0\r\n",
  "Content-Length: 5\r\n",
  "Transfer-Encoding: chunked\r\n",
  "Connection: close\r\n",
  "Host: x\r\n",
  "0\r\n\r\n",
  "\r\n\r\n",
  "HTTP/1.1",
  "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
].map((s) => Buffer.from(s, "latin1"));

function pick<T>(xs: readonly T[], random: () => number): T {
  return xs[Math.floor(random() * xs.length)]!;
}

/** A corpus input with 1 to 4 random edits (byte changes, inserts, deletions, duplications, splices). */
function mutate(inputs: Buffer[], random: () => number): Buffer {
  let b = pick(inputs, random);
  const edits = 1 + Math.floor(random() * 4);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(random() * (b.length + 1));
    const span = 1 + Math.floor(random() * 8);
    switch (Math.floor(random() * 6)) {
      case 0: {
        const c = Buffer.from(b);
        if (at < c.length) c[at] = random() < 0.8 ? pick(BYTES, random) : Math.floor(random() * 256);
        b = c;
        break;
      }
      case 1:
        b = Buffer.concat([b.subarray(0, at), pick(SNIPPETS, random), b.subarray(at)]);
        break;
      case 2:
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + span)]);
        break;
      case 3:
        b = Buffer.concat([b.subarray(0, at + span), b.subarray(at)]);
        break;
      case 4: {
        const c = Buffer.from(b);
        for (let i = at; i < Math.min(c.length, at + span); i++) if (/[a-z]/i.test(String.fromCharCode(c[i]!))) c[i] = c[i]! ^ 0x20;
        b = c;
        break;
      }
      default: {
        const other = pick(inputs, random);
        b = Buffer.concat([b.subarray(0, at), other.subarray(Math.floor(random() * other.length))]);
      }
    }
  }
  return b;
}
