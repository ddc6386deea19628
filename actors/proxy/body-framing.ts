/**
 * Where a message body ends, found incrementally while its bytes are
 * forwarded as they are: a Content-Length countdown, or a small chunked
 * decoder (RFC 9112 section 7.1: chunk-size lines with extensions, chunk
 * data, trailer section) that only tracks the boundaries and never copies
 * data. One `BodyFramer` per connection direction, reset per message.
 */
import { Framing, HttpParseError } from "./http1-parser.js";

/** Chunked decoder states. */
const S = {
  Size: 0,
  /** After the size: optional whitespace, then `;` extensions or CR. */
  AfterSize: 1,
  Ext: 2,
  SizeLf: 3,
  Data: 4,
  DataCr: 5,
  DataLf: 6,
  /** Start of a trailer line (or the final CRLF). */
  TrailerStart: 7,
  Trailer: 8,
  TrailerLf: 9,
  EndLf: 10,
} as const;

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
          else if (c === 59) this.#state = S.Ext;
          else if (c === 32 || c === 9) this.#state = S.AfterSize;
          else this.#fail("invalid chunk size");
          break;
        }
        case S.AfterSize: {
          const c = buf[i]!;
          if (c === 59) this.#state = S.Ext;
          else if (c === 13) this.#state = S.SizeLf;
          else if (c !== 32 && c !== 9) this.#fail("invalid chunk size line");
          break;
        }
        case S.Ext: {
          const c = buf[i]!;
          if (c === 13) this.#state = S.SizeLf;
          else if (c === 10 || c === 0) this.#fail("invalid chunk extension");
          else if (++this.#meta > MAX_META_BYTES) this.#fail("chunk extensions too large");
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
          else if (c === 10 || c === 32 || c === 9 || c === 0) this.#fail("invalid trailer line");
          else this.#state = S.Trailer;
          break;
        }
        case S.Trailer: {
          const c = buf[i]!;
          if (c === 13) this.#state = S.TrailerLf;
          else if (c === 10 || c === 0) this.#fail("invalid trailer line");
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
