/**
 * Pure geometry and matching for the state chart (no DOM: unit-tested):
 * rounded orthogonal paths from elk's polylines, and which label lines of an
 * arrow a broadcast event corresponds to.
 */
type Point = { x: number; y: number };

/** An SVG path through `points` whose corners are rounded with radius `r` (clamped to half of the shorter segment). */
export function roundedPath(points: Point[], r = 8): string {
  if (points.length === 0) return "";
  const [first, ...rest] = points;
  const parts = [`M${first!.x},${first!.y}`];
  for (let i = 0; i < rest.length; i++) {
    const corner = rest[i]!;
    const next = rest[i + 1];
    const prev = points[i]!;
    if (!next) {
      parts.push(`L${corner.x},${corner.y}`);
      break;
    }
    const inLen = Math.hypot(corner.x - prev.x, corner.y - prev.y);
    const outLen = Math.hypot(next.x - corner.x, next.y - corner.y);
    const radius = Math.min(r, inLen / 2, outLen / 2);
    if (radius <= 0) {
      parts.push(`L${corner.x},${corner.y}`);
      continue;
    }
    const a = { x: corner.x - ((corner.x - prev.x) / inLen) * radius, y: corner.y - ((corner.y - prev.y) / inLen) * radius };
    const b = { x: corner.x + ((next.x - corner.x) / outLen) * radius, y: corner.y + ((next.y - corner.y) / outLen) * radius };
    parts.push(`L${round(a.x)},${round(a.y)}`, `Q${corner.x},${corner.y} ${round(b.x)},${round(b.y)}`);
  }
  return parts.join(" ");
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/**
 * The driver outcomes are broadcast under the name of the write (`started`),
 * while the chart labels them with the lifecycle row (`driver started (stored)`).
 */
const WRITE_TO_LABEL: Record<string, string> = {
  started: "driver started",
  paused: "driver paused",
  resumed: "driver resumed",
  killed: "driver removed",
  start_failed: "driver failed",
  pause_failed: "driver failed",
  resume_failed: "driver failed",
};

/**
 * Indices of the chart labels (an arrow's lines, or a state's internal
 * events) that the broadcast event `eventName` took: `pause` -> `PAUSE`,
 * `timeout` -> `TIMEOUT [expiredToKill]`, `start_failed` -> `start failed`,
 * `set_timeout` -> `SET_TIMEOUT [hasTtl]`. Empty when none matches by name
 * (the arrow is still highlighted, just no single line).
 */
export function matchingLines(labels: readonly string[], eventName: string): number[] {
  const wanted = (WRITE_TO_LABEL[eventName] ?? eventName.replace(/_/g, " ")).toLowerCase();
  const out: number[] = [];
  labels.forEach((text, i) => {
    const label = text.toLowerCase().replace(/_/g, " ");
    if (label === wanted || label.startsWith(`${wanted} `)) out.push(i);
  });
  return out;
}
