import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { oneFileTar } from "../../src/drivers/tar.js";

describe("oneFileTar", () => {
  it("is read back by the system tar, name and content intact", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "corral-tar-"));
    try {
      const file = path.join(dir, "a.tar");
      fs.writeFileSync(file, oneFileTar("id", "abcdefghij0123456789"));
      expect(execFileSync("tar", ["-tf", file], { encoding: "utf8" })).toBe("id\n");
      expect(execFileSync("tar", ["-xOf", file, "id"], { encoding: "utf8" })).toBe("abcdefghij0123456789");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("pads content past one block", () => {
    const content = "x".repeat(700);
    const tar = oneFileTar("f", content);
    expect(tar.length % 512).toBe(0);
    expect(tar.length).toBe(512 + 1024 + 1024);
  });

  it("refuses a path or an empty name", () => {
    expect(() => oneFileTar("a/b", "")).toThrow(RangeError);
    expect(() => oneFileTar("", "")).toThrow(RangeError);
  });
});
