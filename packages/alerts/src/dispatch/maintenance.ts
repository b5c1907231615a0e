// Recurring maintenance windows: a cron schedule in a time zone (croner) opens a window of a fixed
// duration during which the alerts its matchers match are muted.
import { optionError } from '@vigil/core';
import { Cron } from 'croner';
import { parseDuration } from '../duration';
import { context } from '../errors';
import { compileMatcherList } from './config';
import type { CompiledMatcher } from './matchers';
import type { MaintenanceWindowOptions } from './types';

/** A window, compiled. */
export interface MaintenanceWindow {
  readonly name: string;
  readonly matchers: readonly CompiledMatcher[];
  readonly duration: number;
  readonly cron: Cron;
}

const CTX = context('createDispatcher');

function fail(path: string, expected: string, received: unknown, fix?: string): Error {
  return optionError(CTX, 'DISPATCH_INVALID_MAINTENANCE', path, expected, received, fix);
}

/** Validates and compiles the `maintenance` option. */
export function compileMaintenance(value: unknown): MaintenanceWindow[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw fail('maintenance', 'a list of maintenance windows', value);
  const names = new Set<string>();
  return value.map((w: unknown, i): MaintenanceWindow => {
    const path = `maintenance[${i}]`;
    if (typeof w !== 'object' || w === null) throw fail(path, 'a maintenance window object', w);
    const o = w as Partial<Record<keyof MaintenanceWindowOptions, unknown>>;
    for (const key of Object.keys(o)) {
      if (!['name', 'schedule', 'duration', 'timezone', 'matchers'].includes(key)) {
        throw fail(`${path}.${key}`, 'one of name, schedule, duration, timezone, matchers', key);
      }
    }
    if (typeof o.name !== 'string' || o.name === '' || names.has(o.name)) {
      throw fail(`${path}.name`, 'a non-empty name used once', o.name);
    }
    names.add(o.name);
    const duration = typeof o.duration === 'string' ? parseDuration(o.duration) : undefined;
    if (duration === undefined || duration <= 0) {
      throw fail(`${path}.duration`, 'a Prometheus duration above 0 such as 2h or 90m', o.duration);
    }
    const timezone = o.timezone ?? 'UTC';
    if (typeof timezone !== 'string') throw fail(`${path}.timezone`, 'an IANA time zone', timezone);
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    } catch {
      throw fail(`${path}.timezone`, 'an IANA time zone such as Europe/Paris', timezone);
    }
    if (typeof o.schedule !== 'string') {
      throw fail(`${path}.schedule`, 'a cron schedule such as "0 2 * * 0"', o.schedule);
    }
    let cron: Cron;
    try {
      cron = new Cron(o.schedule, { timezone, paused: true });
      cron.nextRun();
    } catch (e) {
      throw fail(
        `${path}.schedule`,
        'a cron schedule such as "0 2 * * 0" (minute hour day-of-month month day-of-week)',
        o.schedule,
        (e as Error).message,
      );
    }
    if (!Array.isArray(o.matchers) || o.matchers.length === 0) {
      throw fail(
        `${path}.matchers`,
        'a non-empty list of matchers such as service="gateway"',
        o.matchers,
      );
    }
    const matchers = compileMatcherList(
      o.matchers as string[],
      `${path}.matchers`,
      'DISPATCH_INVALID_MAINTENANCE',
    );
    return { name: o.name, matchers, duration, cron };
  });
}

/**
 * True when a window is open at `ms`: some occurrence of its schedule lies in (ms - duration, ms].
 * croner resolves wall-clock times in the zone, so a 02:00 schedule stays at 02:00 local time across
 * DST changes (a 02:00 that does not exist on the spring-forward night opens at 03:00).
 */
export function isOpen(w: MaintenanceWindow, ms: number): boolean {
  const next = w.cron.nextRun(new Date(ms - w.duration));
  return next !== null && next.getTime() <= ms;
}
