/**
 * Where a message body ends, found incrementally while its bytes are
 * forwarded as they are: a Content-Length countdown, or a small chunked
 * decoder (RFC 9112 section 7.1: chunk-size lines with extensions, chunk
 * data, trailer section) that only tracks the boundaries and never copies
 * data. As strict as llhttp: no whitespace in a size line, extensions are
 * `;name[=token|"quoted"]`, trailer lines are `token:value` without control
 * characters. One `BodyFramer` per connection direction, reset per message.
 */
import { Framing, HttpParseError } from "./http1-parser.js";

/** Chunked decoder states. */
const S = {
  Size: 0,
  /** Just after `;`: an extension name must follow. */
  ExtName: 1,
  /** In an extension name: more of it, `=`, `;` or CR. */
  ExtNameRest: 2,
  /** Just after `=`: a token or a quoted string. */
  ExtValue: 3,
  ExtToken: 4,
  ExtQuoted: 5,
  ExtQuotedPair: 6,
  /** After a closing quote: `;` or CR. */
  ExtQuoteEnd: 7,
  SizeLf: 8,
  Data: 9,
  DataCr: 10,
  DataLf: 11,
  /** Start of a trailer line (or the final CRLF). */
  TrailerStart: 12,
  TrailerName: 13,
  TrailerValue: 14,
  TrailerLf: 15,
  EndLf: 16,
} as const;

/** tchar (RFC 9110 section 5.6.2) by byte. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TCHAR[c.charCodeAt(0)] = 1;

/** A field-value byte: HTAB, SP, visible ASCII, obs-text (no other control character). */
function isValueByte(c: number): boolean {
  return c === 9 || (c >= 32 && c !== 127);
}

/** Hex digits of a chunk size: 13 (2^52) is far beyond any real chunk and safe in a double. */
const MAX_SIZE_DIGITS = 13;
/** Bytes of chunk extensions and trailers together, per message. */
const MAX_META_BYTES = 64 * 1024;

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

/** Tracks one message body's end. */
export class BodyFramer {
  framing: Framing = Framing.None;
  /** Bytes left: of the body (`Length`) or of the current chunk (`Chunked`). */
  remaining = 0;
  /** The body is complete. */
  done = true;
  #state: number = S.Size;
  #digits = 0;
  #meta = 0;
  /** The current trailer's name, lower case (only its first 18 characters matter). */
  #trailerName = "";
  /** Thrown on malformed chunked framing: 400 for requests, 502 for responses. */
  #errorStatus: 400 | 502 = 400;

  /** Starts a message body framed by `framing` (`length` for `Length`). */
  reset(framing: Framing, length: number, errorStatus: 400 | 502): void {
    this.framing = framing;
    this.#errorStatus = errorStatus;
    this.remaining = framing === Framing.Length ? length : 0;
    this.done = framing === Framing.None || (framing === Framing.Length && length === 0);
    this.#state = S.Size;
    this.#digits = 0;
    this.#meta = 0;
  }

  /**
   * Consumes body bytes of `buf` from `start`; returns the index just after
   * the last body byte in `buf` (`buf.length` when the body goes on).
   * `done` tells whether the body ended there.
   *
   * @throws HttpParseError on malformed chunked framing
   */
  advance(buf: Buffer, start: number): number {
    if (this.done) return start;
    switch (this.framing) {
      case Framing.Length: {
        const n = Math.min(this.remaining, buf.length - start);
        this.remaining -= n;
        if (this.remaining === 0) this.done = true;
        return start + n;
      }
      case Framing.Chunked:
        return this.#chunked(buf, start);
      default:
        return buf.length;
    }
  }

  #fail(message: string): never {
    throw new HttpParseError(this.#errorStatus, this.#errorStatus === 502 ? `malformed upstream response: ${message}` : message);
  }

  #chunked(buf: Buffer, start: number): number {
    let i = start;
    const len = buf.length;
    while (i < len) {
      switch (this.#state) {
        case S.Data: {
          const n = Math.min(this.remaining, len - i);
          this.remaining -= n;
          i += n;
          if (this.remaining === 0) this.#state = S.DataCr;
          continue;
        }
        case S.Size: {
          const c = buf[i]!;
          const v = hexValue(c);
          if (v !== -1) {
            if (++this.#digits > MAX_SIZE_DIGITS) this.#fail("chunk size too large");
            this.remaining = this.remaining * 16 + v;
          } else if (this.#digits === 0) this.#fail("invalid chunk size");
          else if (c === 13) this.#state = S.SizeLf;
          else if (c === 59) this.#state = S.ExtName;
          else this.#fail("invalid chunk size");
          break;
        }
        case S.ExtName:
          if (buf[i] === 61 || buf[i] === 59) this.#fail("empty chunk extension name");
          if (TCHAR[buf[i]!] !== 1) this.#fail("invalid chunk extension");
          this.#meta++;
          this.#state = S.ExtNameRest;
          break;
        case S.ExtNameRest:
        case S.ExtToken: {
          const c = buf[i]!;
          if (c === 13) this.#state = S.SizeLf;
          else if (c === 59) this.#state = S.ExtName;
          else if (c === 61 && this.#state === S.ExtNameRest) this.#state = S.ExtValue;
          else if (TCHAR[c] !== 1) this.#fail("invalid chunk extension");
          else if (++this.#meta > MAX_META_BYTES) this.#fail("chunk extensions too large");
          break;
        }
        case S.ExtValue: {
          const c = buf[i]!;
          // An empty value (`;a=`) is accepted, as llhttp does.
          if (c === 13) this.#state = S.SizeLf;
          else if (c === 59) this.#state = S.ExtName;
          else if (c === 34) this.#state = S.ExtQuoted;
          else if (TCHAR[c] === 1) this.#state = S.ExtToken;
          else this.#fail("invalid chunk extension");
          break;
        }
        case S.ExtQuoted: {
          const c = buf[i]!;
          if (c === 34) this.#state = S.ExtQuoteEnd;
          else if (c === 92) this.#state = S.ExtQuotedPair;
          else if (!isValueByte(c)) this.#fail("invalid chunk extension");
          else if (++this.#meta > MAX_META_BYTES) this.#fail("chunk extensions too large");
          break;
        }
        case S.ExtQuotedPair:
          if (!isValueByte(buf[i]!)) this.#fail("invalid chunk extension");
          this.#state = S.ExtQuoted;
          break;
        case S.ExtQuoteEnd: {
          const c = buf[i]!;
          if (c === 13) this.#state = S.SizeLf;
          else if (c === 59) this.#state = S.ExtName;
          else this.#fail("invalid chunk extension");
          break;
        }
        case S.SizeLf:
          if (buf[i] !== 10) this.#fail("bare CR in a chunk size line");
          this.#digits = 0;
          this.#state = this.remaining === 0 ? S.TrailerStart : S.Data;
          break;
        case S.DataCr:
          if (buf[i] !== 13) this.#fail("chunk data longer than its size");
          this.#state = S.DataLf;
          break;
        case S.DataLf:
          if (buf[i] !== 10) this.#fail("chunk data not followed by CRLF");
          this.#state = S.Size;
          break;
        case S.TrailerStart: {
          const c = buf[i]!;
          if (c === 13) this.#state = S.EndLf;
          else if (TCHAR[c] !== 1) this.#fail("invalid trailer line");
          else {
            this.#state = S.TrailerName;
            this.#trailerName = String.fromCharCode(c | 0x20);
          }
          break;
        }
        case S.TrailerName: {
          const c = buf[i]!;
          if (c === 58) {
            // Framing fields are not allowed in trailers (RFC 9110 section 6.5.1), and llhttp
            // would close after a trailer `Connection: close` where a sandbox might not.
            const name = this.#trailerName;
            if (name === "content-length" || name === "transfer-encoding" || name === "connection") this.#fail("framing header in the trailers");
            this.#state = S.TrailerValue;
          } else if (TCHAR[c] !== 1) this.#fail("invalid trailer line");
          else if (this.#trailerName.length < 18) this.#trailerName += String.fromCharCode(c >= 65 && c <= 90 ? c | 0x20 : c);
          if (++this.#meta > MAX_META_BYTES) this.#fail("trailers too large");
          break;
        }
        case S.TrailerValue: {
          const c = buf[i]!;
          if (c === 13) this.#state = S.TrailerLf;
          else if (!isValueByte(c)) this.#fail("invalid trailer line");
          if (++this.#meta > MAX_META_BYTES) this.#fail("trailers too large");
          break;
        }
        case S.TrailerLf:
          if (buf[i] !== 10) this.#fail("bare CR in a trailer");
          this.#state = S.TrailerStart;
          break;
        case S.EndLf:
          if (buf[i] !== 10) this.#fail("bare CR after the last chunk");
          this.done = true;
          return i + 1;
      }
      i++;
    }
    return len;
  }
}
