// Prometheus durations (`5m`, `1h30m`, `3d`): parsed to milliseconds and written back in one canonical form.

const UNITS = [
  ['y', 365 * 24 * 3600_000],
  ['w', 7 * 24 * 3600_000],
  ['d', 24 * 3600_000],
  ['h', 3600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
] as const;

/** Prometheus' own duration syntax (model.ParseDuration): units in this order, each at most once. */
const DURATION_PATTERN =
  /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/** Milliseconds of a Prometheus duration, or undefined when it is not one (or is `0`-only text like ""). */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const m = DURATION_PATTERN.exec(text);
  if (m === null || text === '') return undefined;
  let ms = 0;
  UNITS.forEach(([, size], i) => {
    const part = m[i + 1];
    if (part !== undefined) ms += Number(part) * size;
  });
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/**
 * The canonical text of a duration, the way Prometheus prints it (model.Duration.String): weeks and
 * years are not used, so 7d stays `7d` and 30d stays `30d`.
 */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let text = '';
  for (const [unit, size] of UNITS) {
    if (unit === 'y' || unit === 'w') continue;
    const n = Math.floor(rest / size);
    if (n > 0) {
      text += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return text;
}

export const MINUTE = 60_000;
export const HOUR = 3600_000;
export const DAY = 24 * HOUR;
