/**
 * The differential corpus of the proxy's request parser (used by
 * `proxy-differential.test.ts`): framing edge cases and the smuggling matrix
 * (Content-Length and Transfer-Encoding spelled every way a parser could
 * disagree about), as a table. Each input goes through Corral and through
 * llhttp and must be read the same, except where Corral refuses what llhttp
 * accepts for one of the reasons in `STRICTER`.
 */

/** One corpus entry. */
export interface CorpusCase {
  name: string;
  input: string;
}

const H = "Host: h\r\n";
const post = (headers: string, body: string) => `POST /p HTTP/1.1\r\n${H}${headers}\r\n${body}`;
const NEXT = `GET /next HTTP/1.1\r\n${H}\r\n`;

/** Corral refuses these in requests, llhttp does not (the reasons, by Corral's error message). */
export const STRICTER: Record<string, string> = {
  "more than one Host header": "a second Host could route a request differently from how the sandbox reads it",
  "unsupported Transfer-Encoding": "requests may only be `chunked`: any other coding is what smuggling hides behind",
  "several Transfer-Encoding headers": "one Transfer-Encoding line only, so no two readers can join them differently",
  "malformed request line": "exactly one space between the parts of the request line",
  "unsupported HTTP version": "HTTP/1.0 and HTTP/1.1 only (llhttp accepts any digit pair, e.g. HTTP/2.0 or HTTP/0.9)",
  "bare LF in the head": "CRLF only, also before the request line (llhttp skips a bare LF there) and after an HTTP/0.9 request line (`GET /\\n`, which llhttp reads)",
  "bare CR in the head": "CRLF only, also before the request line (llhttp skips a lone CR there)",
  "malformed request target": "a target is origin-form (`/...`), absolute-form (`scheme://...`) or exactly `*` (llhttp accepts `*` followed by more)",
  "invalid Content-Length": "at most 15 digits (llhttp takes any number of leading zeros)",
  "chunk size too large": "at most 13 hex digits in a chunk size (llhttp takes any number of leading zeros)",
  "empty chunk extension name": "a chunk extension needs a name (llhttp accepts `;=value`)",
  "framing header in the trailers": "no Content-Length, Transfer-Encoding or Connection in trailers (llhttp closes after a trailer `Connection: close`)",
  "invalid Transfer-Encoding": "no tab after a Transfer-Encoding value (llhttp refuses it on the line that decides the framing only)",
  "both Content-Length and Transfer-Encoding": "an empty Transfer-Encoding beside a Content-Length is refused too (llhttp ignores the empty one)",
  "CONNECT is not proxied": "an authority-form target names no sandbox",
};

/** Content-Length spellings. */
const LENGTHS = ["5\t ", "5 \t", "\t5", "5", "05", "+5", "-5", " 5", "5 ", "5,5", "5, 5", "0x5", "5.0", "", "1e1", "000000000000005", "0000000000000005", "5\t", "\x0b5"];
/** Transfer-Encoding spellings. */
const CODINGS = ["chunked\t", "Chunked", "CHUNKED", " chunked", "chunked ", "\tchunked", "xchunked", "chunked, identity", "identity, chunked", "gzip, chunked", "chunked, chunked", "chunked;q=1", '"chunked"', "chunk", "identity", ""];
/** Transfer-Encoding header names. */
const TE_NAMES = ["Transfer-Encoding", "transfer-encoding", "Transfer-Encoding ", "Transfer_Encoding", " Transfer-Encoding", "Transfer-Encoding\t", "Transfer\x00Encoding"];
const CHUNKED_BODY = "5\r\nhello\r\n0\r\n\r\n";

function matrix(): CorpusCase[] {
  const out: CorpusCase[] = [];
  for (const cl of LENGTHS) out.push({ name: `CL ${JSON.stringify(cl)}`, input: post(`Content-Length: ${cl}\r\n`, `hello${NEXT}`) });
  for (const te of CODINGS) out.push({ name: `TE ${JSON.stringify(te)}`, input: post(`Transfer-Encoding: ${te}\r\n`, `${CHUNKED_BODY}${NEXT}`) });
  for (const name of TE_NAMES) out.push({ name: `TE name ${JSON.stringify(name)}`, input: post(`${name}: chunked\r\n`, `${CHUNKED_BODY}${NEXT}`) });
  for (const te of ["chunked", "gzip, chunked", "identity"]) {
    out.push({ name: `CL then TE ${te}`, input: post(`Content-Length: 5\r\nTransfer-Encoding: ${te}\r\n`, `${CHUNKED_BODY}${NEXT}`) });
    out.push({ name: `TE ${te} then CL`, input: post(`Transfer-Encoding: ${te}\r\nContent-Length: 5\r\n`, `${CHUNKED_BODY}${NEXT}`) });
  }
  out.push(
    { name: "CL twice, same", input: post("Content-Length: 5\r\nContent-Length: 5\r\n", `hello${NEXT}`) },
    { name: "CL twice, different", input: post("Content-Length: 5\r\nContent-Length: 6\r\n", `hello!${NEXT}`) },
    { name: "empty TE then CL", input: post("Transfer-Encoding: \r\nContent-Length: 5\r\n", `hello${NEXT}`) },
    { name: "TE twice", input: post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", `${CHUNKED_BODY}${NEXT}`) },
    { name: "TE gzip<tab> then TE chunked", input: post("Transfer-Encoding: gzip\t\r\nTransfer-Encoding: chunked\r\n", `${CHUNKED_BODY}${NEXT}`) },
    { name: "TE gzip then TE chunked", input: post("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", `${CHUNKED_BODY}${NEXT}`) },
    { name: "TE obs-fold", input: post("Transfer-Encoding:\r\n chunked\r\n", `${CHUNKED_BODY}${NEXT}`) },
    { name: "CL obs-fold", input: post("X: a\r\n\tContent-Length: 5\r\n", `hello${NEXT}`) },
  );
  return out;
}

const CHUNK_CASES: [string, string][] = [
  ["chunk ext token", "5;a=b\r\nhello\r\n0\r\n\r\n"],
  ["chunk ext name only", "5;a\r\nhello\r\n0\r\n\r\n"],
  ["chunk ext several", "5;a;b=c;d=\"e f\"\r\nhello\r\n0\r\n\r\n"],
  ["chunk ext quoted escape", '5;a="b\\"c"\r\nhello\r\n0\r\n\r\n'],
  ["chunk ext empty name", "5;=b\r\nhello\r\n0\r\n\r\n"],
  ["chunk ext space before ;", "5 ;a\r\nhello\r\n0\r\n\r\n"],
  ["chunk ext space after ;", "5; a\r\nhello\r\n0\r\n\r\n"],
  ["chunk ext space in value", "5;a=b c\r\nhello\r\n0\r\n\r\n"],
  ["chunk ext control", "5;a=\x01\r\nhello\r\n0\r\n\r\n"],
  ["chunk ext bare LF", "5;a\nhello\r\n0\r\n\r\n"],
  ["chunk ext lone ;", "5;\r\nhello\r\n0\r\n\r\n"],
  ["chunk ext ;;", "5;;a\r\nhello\r\n0\r\n\r\n"],
  ["chunk ext empty value", "5;a=\r\nhello\r\n0\r\n\r\n"],
  ["chunk ext unterminated quote", '5;a="b\r\nhello\r\n0\r\n\r\n'],
  ["chunk size trailing space", "5 \r\nhello\r\n0\r\n\r\n"],
  ["chunk size 0x", "0x5\r\nhello\r\n0\r\n\r\n"],
  ["chunk size leading zeros", "0005\r\nhello\r\n0\r\n\r\n"],
  ["chunk size 14 digits", "00000000000005\r\nhello\r\n0\r\n\r\n"],
  ["chunk size upper hex", "A\r\n0123456789\r\n0\r\n\r\n"],
  ["chunk size negative", "-5\r\nhello\r\n0\r\n\r\n"],
  ["chunk size huge", "ffffffffffffffffff\r\nhello\r\n0\r\n\r\n"],
  ["chunk data too long", "3\r\nhello\r\n0\r\n\r\n"],
  ["chunk data bare LF after", "5\r\nhello\n0\r\n\r\n"],
  ["chunk size bare LF", "5\nhello\r\n0\r\n\r\n"],
  ["last chunk bare LF end", "5\r\nhello\r\n0\r\n\n"],
  ["trailer", "5\r\nhello\r\n0\r\nX: y\r\n\r\n"],
  ["trailers several", "5\r\nhello\r\n0\r\nX: y\r\nZ:\r\n\r\n"],
  ["trailer control char", "5\r\nhello\r\n0\r\nX: y\x01\r\n\r\n"],
  ["trailer no name", "5\r\nhello\r\n0\r\n: y\r\n\r\n"],
  ["trailer no colon", "5\r\nhello\r\n0\r\nXy\r\n\r\n"],
  ["trailer space in name", "5\r\nhello\r\n0\r\nX y: z\r\n\r\n"],
  ["trailer obs-fold", "5\r\nhello\r\n0\r\nX: y\r\n z\r\n\r\n"],
  ["trailer high byte", "5\r\nhello\r\n0\r\nX: \xff\r\n\r\n"],
  ["trailer Connection: close", "5\r\nhello\r\n0\r\nConnection: close\r\n\r\n"],
  ["trailer Content-Length", "5\r\nhello\r\n0\r\nContent-Length: 5\r\n\r\nhello"],
];

const LINE_CASES: [string, string][] = [
  ["plain GET", `GET / HTTP/1.1\r\n${H}\r\n`],
  ["pipelined three", `GET /1 HTTP/1.1\r\n${H}\r\nGET /2 HTTP/1.1\r\n${H}\r\n${NEXT}`],
  ["HTTP/1.0 then more", `GET / HTTP/1.0\r\n\r\n${NEXT}`],
  ["Connection: close then more", `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n${NEXT}`],
  ["upgrade then bytes", `GET / HTTP/1.1\r\n${H}Connection: upgrade\r\nUpgrade: websocket\r\n\r\nraw bytes`],
  ["leading CRLF", `\r\n\r\nGET / HTTP/1.1\r\n${H}\r\n`],
  ["leading bare LF", `\nGET / HTTP/1.1\r\n${H}\r\n`],
  ["leading bare CR", `\rGET / HTTP/1.1\r\n${H}\r\n`],
  ["bare LF head", `GET / HTTP/1.1\n${H.replace("\r", "")}\n`],
  ["bare LF after headers", `GET / HTTP/1.1\r\n${H}\n`],
  ["bare CR", `GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n`],
  ["missing Host", "GET / HTTP/1.1\r\n\r\n"],
  ["two Hosts", `GET / HTTP/1.1\r\n${H}Host: other\r\n\r\n`],
  ["HTTP/1.0 no Host", "GET / HTTP/1.0\r\n\r\n"],
  ["HTTP/1.2", `GET / HTTP/1.2\r\n${H}\r\n`],
  ["HTTP/2.0", `GET / HTTP/2.0\r\n${H}\r\n`],
  ["HTTP/0.9", `GET / HTTP/0.9\r\n${H}\r\n`],
  ["lower-case http", `GET / http/1.1\r\n${H}\r\n`],
  ["no version", `GET /\r\n${H}\r\n`],
  ["HTTP/0.9 request line", `GET /n\n\r\n${NEXT}`],
  ["two spaces", `GET  / HTTP/1.1\r\n${H}\r\n`],
  ["tab separator", `GET\t/ HTTP/1.1\r\n${H}\r\n`],
  ["unknown method", `FOO / HTTP/1.1\r\n${H}\r\n`],
  ["lower-case method", `get / HTTP/1.1\r\n${H}\r\n`],
  ["PROPFIND", `PROPFIND / HTTP/1.1\r\n${H}\r\n`],
  ["QUERY", `QUERY / HTTP/1.1\r\n${H}\r\n`],
  ["CONNECT", `CONNECT h:443 HTTP/1.1\r\n${H}\r\n`],
  ["OPTIONS *", `OPTIONS * HTTP/1.1\r\n${H}\r\n`],
  ["OPTIONS * and more", `OPTIONS *x HTTP/1.1\r\n${H}\r\n`],
  ["Connection with close inside a token", `GET / HTTP/1.1\r\n${H}Connection: chunked close\r\n\r\n${NEXT}`],
  ["absolute target", `GET http://h/a HTTP/1.1\r\n${H}\r\n`],
  ["absolute target, bad host", `GET http://"/a HTTP/1.1\r\n${H}\r\n`],
  ["target without slash", `GET a HTTP/1.1\r\n${H}\r\n`],
  ["target control char", `GET /a\x01b HTTP/1.1\r\n${H}\r\n`],
  ["target DEL", `GET /a\x7fb HTTP/1.1\r\n${H}\r\n`],
  ["target high byte", `GET /a\xffb HTTP/1.1\r\n${H}\r\n`],
  ["target tab", `GET /a\tb HTTP/1.1\r\n${H}\r\n`],
  ["target quotes and braces", `GET /"<>{}|^ HTTP/1.1\r\n${H}\r\n`],
  ["target fragment", `GET /a#b HTTP/1.1\r\n${H}\r\n`],
  ["value control char", `GET / HTTP/1.1\r\n${H}X: a\x01b\r\n\r\n`],
  ["value NUL", `GET / HTTP/1.1\r\n${H}X: a\x00b\r\n\r\n`],
  ["value DEL", `GET / HTTP/1.1\r\n${H}X: a\x7fb\r\n\r\n`],
  ["value high byte", `GET / HTTP/1.1\r\n${H}X: a\xffb\r\n\r\n`],
  ["value tab", `GET / HTTP/1.1\r\n${H}X: a\tb\r\n\r\n`],
  ["value empty", `GET / HTTP/1.1\r\n${H}X:\r\n\r\n`],
  ["name space before colon", `GET / HTTP/1.1\r\n${H}X : a\r\n\r\n`],
  ["name high byte", `GET / HTTP/1.1\r\n${H}X\xff: a\r\n\r\n`],
  ["name empty", `GET / HTTP/1.1\r\n${H}: a\r\n\r\n`],
  ["line without colon", `GET / HTTP/1.1\r\n${H}X\r\n\r\n`],
  ["obs-fold", `GET / HTTP/1.1\r\n${H}X: a\r\n b\r\n\r\n`],
  ["GET with a body", `GET / HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello${NEXT}`],
  ["HEAD with a body", `HEAD / HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello${NEXT}`],
  ["Expect 100-continue", post("Expect: 100-continue\r\nContent-Length: 5\r\n", `hello${NEXT}`)],
  ["Expect unknown", `GET / HTTP/1.1\r\n${H}Expect: foo\r\n\r\n`],
  ["incomplete head", `GET / HTTP/1.1\r\n${H}`],
  ["incomplete body", post("Content-Length: 10\r\n", "hello")],
  ["incomplete chunked body", post("Transfer-Encoding: chunked\r\n", "5\r\nhel")],
];

/** The whole corpus. */
export const CORPUS: CorpusCase[] = [
  ...LINE_CASES.map(([name, input]) => ({ name, input })),
  ...CHUNK_CASES.map(([name, body]) => ({ name, input: post("Transfer-Encoding: chunked\r\n", `${body}${NEXT}`) })),
  ...matrix(),
];
