// Alertmanager's time intervals (timeinterval package): times of day, weekdays, days of the month,
// months and years in a location, for routes' mute_time_intervals and active_time_intervals.

/** One compiled time interval: each list empty means "any". */
export interface TimeInterval {
  /** Minutes of the day, [start, end). */
  readonly times: readonly (readonly [number, number])[];
  /** 0 = Sunday. */
  readonly weekdays: readonly (readonly [number, number])[];
  /** 1..31, or negative from the month's end (-1 = last day). */
  readonly daysOfMonth: readonly (readonly [number, number])[];
  /** 1..12. */
  readonly months: readonly (readonly [number, number])[];
  readonly years: readonly (readonly [number, number])[];
  readonly location: string;
}

const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];

type Fail = (path: string, expected: string, received: unknown) => Error;

function ranges(
  value: unknown,
  path: string,
  fail: Fail,
  parse: (part: string) => number | undefined,
  expected: string,
): [number, number][] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw fail(path, `a list of ${expected}`, value);
  return value.map((item: unknown) => {
    const text = typeof item === 'number' ? String(item) : item;
    if (typeof text !== 'string') throw fail(path, expected, item);
    const parts = text.split(':');
    const a = parse((parts[0] ?? '').trim().toLowerCase());
    const b = parts.length > 1 ? parse((parts[1] ?? '').trim().toLowerCase()) : a;
    if (a === undefined || b === undefined || parts.length > 2) throw fail(path, expected, item);
    return [a, b];
  });
}

function minutes(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  const m = /^(\d\d):(\d\d)$/.exec(text);
  if (m === null) return undefined;
  const v = Number(m[1]) * 60 + Number(m[2]);
  return Number(m[2]) < 60 && v <= 1440 ? v : undefined;
}

function validZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Compiles the named lists of `time_intervals` and `mute_time_intervals`. */
export function compileTimeIntervals(
  lists: readonly unknown[],
  fail: Fail,
): Map<string, TimeInterval[]> {
  const out = new Map<string, TimeInterval[]>();
  lists.forEach((list, i) => {
    const path = `time_intervals[${i}]`;
    if (typeof list !== 'object' || list === null)
      throw fail(path, 'a named list of time intervals', list);
    const { name, time_intervals: intervals } = list as Record<string, unknown>;
    if (typeof name !== 'string' || name === '' || out.has(name)) {
      throw fail(`${path}.name`, 'a name used once', name);
    }
    if (!Array.isArray(intervals)) throw fail(`${path}.time_intervals`, 'a list', intervals);
    out.set(
      name,
      intervals.map((raw: unknown, j): TimeInterval => {
        const p = `${path}.time_intervals[${j}]`;
        const ti = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
        const timesRaw = ti.times ?? [];
        if (!Array.isArray(timesRaw))
          throw fail(`${p}.times`, 'a list of {start_time, end_time}', timesRaw);
        const times = timesRaw.map((t: unknown): [number, number] => {
          const r = (t ?? {}) as Record<string, unknown>;
          const s = minutes(r.start_time);
          const e = minutes(r.end_time);
          if (s === undefined || e === undefined || s >= e) {
            throw fail(`${p}.times`, 'start_time and end_time as HH:MM, start before end', t);
          }
          return [s, e];
        });
        const location = ti.location ?? 'UTC';
        if (typeof location !== 'string' || !validZone(location)) {
          throw fail(`${p}.location`, 'an IANA time zone such as Europe/Paris', location);
        }
        const day = (s: string): number | undefined => {
          const n = Number(s);
          return Number.isInteger(n) && n !== 0 && n >= -31 && n <= 31 && s !== '' ? n : undefined;
        };
        return {
          times,
          weekdays: ranges(
            ti.weekdays,
            `${p}.weekdays`,
            fail,
            (s) => {
              const n = WEEKDAYS.indexOf(s);
              return n < 0 ? undefined : n;
            },
            'weekday names or ranges such as monday:friday',
          ),
          daysOfMonth: ranges(
            ti.days_of_month,
            `${p}.days_of_month`,
            fail,
            day,
            'days such as 1:5 or -1',
          ),
          months: ranges(
            ti.months,
            `${p}.months`,
            fail,
            (s) => {
              const named = MONTHS.indexOf(s);
              if (named >= 0) return named + 1;
              const n = Number(s);
              return Number.isInteger(n) && n >= 1 && n <= 12 && s !== '' ? n : undefined;
            },
            'month names or numbers such as january:march',
          ),
          years: ranges(
            ti.years,
            `${p}.years`,
            fail,
            (s) => {
              const n = Number(s);
              return Number.isInteger(n) && s !== '' ? n : undefined;
            },
            'years such as 2020:2022',
          ),
          location,
        };
      }),
    );
  });
  return out;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock fields of `ms` in `zone`. */
export function wallClock(
  ms: number,
  zone: string,
): { year: number; month: number; day: number; minute: number; weekday: number } {
  let f = formatters.get(zone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      weekday: 'long',
      hourCycle: 'h23',
    });
    formatters.set(zone, f);
  }
  const parts: Record<string, string> = {};
  for (const p of f.formatToParts(new Date(ms))) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    minute: Number(parts.hour) * 60 + Number(parts.minute),
    weekday: WEEKDAYS.indexOf((parts.weekday ?? '').toLowerCase()),
  };
}

function inRanges(rs: readonly (readonly [number, number])[], v: number): boolean {
  return rs.length === 0 || rs.some(([a, b]) => v >= a && v <= b);
}

/** True when the instant `ms` is inside the interval (TimeInterval.ContainsTime). */
export function containsTime(ti: TimeInterval, ms: number): boolean {
  const t = wallClock(ms, ti.location);
  if (ti.times.length > 0 && !ti.times.some(([s, e]) => t.minute >= s && t.minute < e))
    return false;
  if (ti.daysOfMonth.length > 0) {
    const last = new Date(Date.UTC(t.year, t.month, 0)).getUTCDate();
    const ok = ti.daysOfMonth.some(([a, b]) => {
      const from = a < 0 ? last + a + 1 : a;
      const to = b < 0 ? last + b + 1 : b;
      return t.day >= from && t.day <= Math.min(to, last);
    });
    if (!ok) return false;
  }
  return (
    inRanges(ti.months, t.month) && inRanges(ti.years, t.year) && inRanges(ti.weekdays, t.weekday)
  );
}
