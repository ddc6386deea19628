import { describe, expect, it } from "vitest";
import * as corral from "../../src/index.js";
import { ERROR_STATUS, errorFromCode, type ErrorCode } from "../../src/errors.js";

describe("errors on the client side", () => {
  const classes: Record<ErrorCode, new (message: string) => corral.CorralError> = {
    invalid_argument: corral.InvalidArgumentError,
    unauthorized: corral.UnauthorizedError,
    forbidden: corral.ForbiddenError,
    not_found: corral.NotFoundError,
    conflict: corral.ConflictError,
    gone: corral.GoneError,
    internal: corral.InternalError,
    capacity_exhausted: corral.CapacityExhaustedError,
    unavailable: corral.UnavailableError,
  };

  it.each(Object.keys(ERROR_STATUS) as ErrorCode[])("%s becomes its exported subclass with the contract's status", (code) => {
    const err = errorFromCode(code, "why");
    expect(err).toBeInstanceOf(classes[code]);
    expect(err).toMatchObject({ code, status: ERROR_STATUS[code], message: "why" });
    expect(err.toJSON()).toEqual({ error: { code, message: "why" } });
  });

  it("an unknown code from the wire is internal, keeping what was said", () => {
    expect(errorFromCode("teapot", "short and stout")).toMatchObject({ code: "internal", message: "teapot: short and stout" });
  });

  it("the package root exports the client", () => {
    expect(corral.CorralClient).toBeTypeOf("function");
    expect(corral.watchEvents).toBeTypeOf("function");
    expect(corral.API_OPS).toHaveLength(9);
  });
});
