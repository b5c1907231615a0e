// Defaults, and the options of defineBusinessMetrics() and catalogue.totals() checked into frozen configs.
import type { Registry } from 'prom-client';
import {
  type MinimalLogger,
  type OptionContext,
  integerOption,
  loggerOption,
  optionNames,
  prefixOption,
  readOptions,
  registryOption,
} from '@vigil/core';
import { context } from './errors';
import { MAX_LABEL_CAP } from './definitions';
import type { CatalogueOptions, TotalsOptions } from './types';

// The defaults for histograms in seconds and in bytes are @vigil/metrics' HTTP buckets, from core.
export { DEFAULT_SECONDS_BUCKETS, DEFAULT_BYTES_BUCKETS } from '@vigil/core';

/** Default most distinct values of a `route` label. */
export const DEFAULT_MAX_ROUTES = 1000;

/** Default most values listed per label by catalogue.totals(). */
const DEFAULT_MAX_VALUES_PER_LABEL = 20;

const KNOWN_OPTIONS = optionNames<CatalogueOptions>({
  registry: true,
  prefix: true,
  logger: true,
  maxRoutes: true,
});

const KNOWN_TOTALS_OPTIONS = optionNames<TotalsOptions>({ maxValuesPerLabel: true });

/** The options of defineBusinessMetrics(), checked, with their defaults. */
export interface ResolvedOptions {
  readonly registry: Registry;
  readonly prefix: string;
  readonly logger: MinimalLogger | undefined;
  readonly maxRoutes: number;
}

/** The options of catalogue.totals(), checked, with their defaults. */
export interface ResolvedTotalsOptions {
  readonly maxValuesPerLabel: number;
}

/** Checks the options of defineBusinessMetrics() once, at the factory call. */
export function resolveOptions(ctx: OptionContext, options: unknown): ResolvedOptions {
  const o = readOptions<CatalogueOptions>(ctx, options, 1, KNOWN_OPTIONS);
  // prom-client is a peer dependency of this package, so the global registry is always there.
  const registry = registryOption(ctx, o.registry, { allowFalse: false }) as unknown as Registry;
  const prefix = prefixOption(ctx, o.prefix, 'Use letters, digits and underscores, e.g. "shop_".');
  const logger = loggerOption(ctx, o.logger);
  const maxRoutes = integerOption(
    ctx,
    'maxRoutes',
    o.maxRoutes,
    DEFAULT_MAX_ROUTES,
    1,
    MAX_LABEL_CAP,
  );
  return Object.freeze({ registry, prefix, logger, maxRoutes });
}

/** Checks the options of catalogue.totals(), which are given at each call. */
export function resolveTotalsOptions(options: unknown): ResolvedTotalsOptions {
  const ctx = context('totals');
  const o = readOptions<TotalsOptions>(ctx, options, 1, KNOWN_TOTALS_OPTIONS);
  const maxValuesPerLabel = integerOption(
    ctx,
    'maxValuesPerLabel',
    o.maxValuesPerLabel,
    DEFAULT_MAX_VALUES_PER_LABEL,
    1,
    1000,
  );
  return Object.freeze({ maxValuesPerLabel });
}
