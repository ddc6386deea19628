/**
 * The UI's login (DESIGN.md "Security", UI): one token, given to `corral ui`
 * in `--token-file`. A request is let in when it carries the token as
 * `Authorization: Bearer <token>`, or the session cookie that `?token=<token>`
 * sets (the browser is then redirected to the same URL without the token, so
 * it leaves the address bar and history). Everything else answers 401.
 *
 * The cookie holds an HMAC of the token, not the token. Comparisons hash
 * both sides to fixed-length digests and use `timingSafeEqual`, so neither
 * the length nor a prefix of the token leaks through timing. The token is
 * never logged.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import fs from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { InvalidArgumentError, UnauthorizedError } from "../../src/errors.js";

export const SESSION_COOKIE = "corral_ui_session";

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();

/** A fresh random token (URL-safe). */
export function newUiToken(): string {
  return randomBytes(32).toString("base64url");
}

/** Reads a token file: its first line, trimmed; at least 16 characters. */
export function readTokenFile(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new InvalidArgumentError(`--token-file: cannot read ${file}: ${(err as Error).message}`);
  }
  const token = text.split("\n")[0]!.trim();
  if (token.length < 16) throw new InvalidArgumentError(`--token-file: ${file} must hold a token of at least 16 characters`);
  return token;
}

function cookieValue(req: IncomingMessage, name: string): string | null {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return null;
}

/** Checks requests against one token. */
export class UiLogin {
  readonly #tokenDigest: Buffer;
  readonly #session: string;

  constructor(token: string) {
    this.#tokenDigest = digest(token);
    this.#session = createHmac("sha256", token).update("corral-ui-session").digest("base64url");
  }

  #isToken(candidate: string): boolean {
    return timingSafeEqual(digest(candidate), this.#tokenDigest);
  }

  #isSession(candidate: string): boolean {
    return timingSafeEqual(digest(candidate), digest(this.#session));
  }

  /**
   * Lets the request through (returns true), answers it (a `?token=` login:
   * cookie and redirect; returns false), or throws `unauthorized`.
   */
  admit(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    const auth = req.headers.authorization;
    if (auth !== undefined && /^Bearer /i.test(auth) && this.#isToken(auth.slice(7).trim())) return true;
    const cookie = cookieValue(req, SESSION_COOKIE);
    const query = url.searchParams.get("token");
    if (query !== null) {
      if (!this.#isToken(query)) throw new UnauthorizedError("wrong login token");
      url.searchParams.delete("token");
      res.writeHead(303, {
        "Set-Cookie": `${SESSION_COOKIE}=${this.#session}; HttpOnly; SameSite=Strict; Path=/`,
        Location: `${url.pathname}${url.search}`,
        "Cache-Control": "no-store",
      });
      res.end();
      return false;
    }
    if (cookie !== null && this.#isSession(cookie)) return true;
    throw new UnauthorizedError("log in: open the address `corral up` printed (…/?token=…), or send Authorization: Bearer <token>");
  }
}
