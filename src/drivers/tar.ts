/**
 * A one-file ustar archive: what the engine's put-archive takes to write one
 * small file into a container (a warm-pool member's new sandbox id). Enough
 * of the format for one regular file; no dependency for 512-byte headers.
 */

const BLOCK = 512;

function octal(value: number, width: number): string {
  // width - 1 octal digits and a NUL, as tar readers expect.
  return value.toString(8).padStart(width - 1, "0") + "\0";
}

/** A tar archive holding the single file `name` (no slash, < 100 bytes) with `content`, mode 0644. */
export function oneFileTar(name: string, content: string): Buffer {
  if (name === "" || name.includes("/") || Buffer.byteLength(name) >= 100) throw new RangeError(`tar: bad file name ${JSON.stringify(name)}`);
  const body = Buffer.from(content, "utf8");
  const header = Buffer.alloc(BLOCK, 0);
  header.write(name, 0, "utf8");
  header.write(octal(0o644, 8), 100, "ascii");
  header.write(octal(0, 8), 108, "ascii");
  header.write(octal(0, 8), 116, "ascii");
  header.write(octal(body.length, 12), 124, "ascii");
  header.write(octal(Math.floor(Date.now() / 1000), 12), 136, "ascii");
  header.write("0", 156, "ascii");
  header.write("ustar\u000000", 257, "ascii");
  // The checksum is computed with its own field as eight spaces.
  header.write("        ", 148, "ascii");
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "ascii");
  const padded = Buffer.alloc(Math.ceil(body.length / BLOCK) * BLOCK, 0);
  body.copy(padded);
  return Buffer.concat([header, padded, Buffer.alloc(2 * BLOCK, 0)]);
}
