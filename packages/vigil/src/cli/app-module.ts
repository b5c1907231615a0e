// The app module the `vigil` CLI reads (a `vigil.config.js`): what it may export, and its loading.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type AlertRuleSet, type AlertsOptions, defineAlerts } from '@vigil/alerts';
import type { DashboardsOptions } from '@vigil/dashboards';

/** A value, or a function of no arguments returning it (called once, when the CLI needs it). */
export type Lazy<T> = T | (() => T);

/**
 * What an app module exports for the `vigil` CLI, as named exports or as one default export
 * (`module.exports = { ... }` or `export default { ... }`). Every field is optional; a verb says
 * which one it needs.
 */
export interface VigilAppConfig {
  /**
   * The service: the Prometheus job that scrapes it, the compose service and the Kubernetes names.
   * The generated rules must select this job. Default: `dashboards.service`, else the rules'
   * `selector.job`, else `app`.
   */
  service?: string;
  /** The port the app listens on (`PORT`), where `/metrics` and `/health/*` answer. Default: 3000. */
  port?: number;
  /** The options of `defineAlerts()` (or its result): `vigil rules`, and the stack's rules. */
  rules?: Lazy<AlertsOptions | AlertRuleSet>;
  /** The options of `grafanaDashboards()`: `vigil dashboards`. Default: the service, job and rules. */
  dashboards?: Lazy<DashboardsOptions>;
  /**
   * A whole `alertmanager.yml` (route, receivers, inhibit_rules) as an object. Default: receivers
   * `default`, `page`, `ticket`, `info` and the routes and inhibit rules generated from the rules.
   */
  alertmanager?: Lazy<Record<string, unknown>>;
  /** The container image of the app, for the compose file and the Deployment. Default: `<service>:latest`. */
  image?: string;
  /** The container's command, when the image's own is not the app. Default: the image's. */
  command?: readonly string[];
  /** More environment variables of the app's container. */
  env?: Readonly<Record<string, string>>;
  /** Fields merged into the app's compose service (e.g. `volumes`, `working_dir`). */
  compose?: Readonly<Record<string, unknown>>;
}

/** The app module as the verbs use it: every lazy field resolved, defaults applied. */
export interface ResolvedApp {
  readonly service: string;
  readonly port: number;
  readonly ruleSet: AlertRuleSet | undefined;
  readonly dashboards: DashboardsOptions;
  readonly alertmanager: Record<string, unknown> | undefined;
  readonly image: string;
  readonly command: readonly string[] | undefined;
  readonly env: Readonly<Record<string, string>>;
  readonly compose: Readonly<Record<string, unknown>>;
}

/** A problem with the module's contents (exit 1), as opposed to one loading it (exit 2). */
export class AppModuleError extends Error {}

const FIELDS = [
  'service',
  'port',
  'rules',
  'dashboards',
  'alertmanager',
  'image',
  'command',
  'env',
  'compose',
] as const;

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isRuleSet(value: unknown): value is AlertRuleSet {
  return (
    isObject(value) && Array.isArray(value.groups) && typeof value.prometheusVersion === 'string'
  );
}

function unwrap<T>(value: Lazy<T> | undefined): T | undefined {
  return typeof value === 'function' ? (value as () => T)() : value;
}

/** The module's fields: its named exports over the fields of its default export. */
export function configOf(exports: Record<string, unknown>): VigilAppConfig {
  const config: Record<string, unknown> = isObject(exports.default) ? { ...exports.default } : {};
  for (const field of FIELDS) {
    if (exports[field] !== undefined) config[field] = exports[field];
  }
  return config;
}

/** Loads MODULE (CommonJS or ES module, resolved from the working directory). */
export async function loadAppModule(file: string): Promise<VigilAppConfig> {
  const exports = (await import(pathToFileURL(resolve(file)).href)) as Record<string, unknown>;
  const config = configOf(exports);
  if (!FIELDS.some((field) => config[field] !== undefined)) {
    throw new AppModuleError(
      `${file} exports none of ${FIELDS.join(', ')}: see "The app module" in the vigil CLI's documentation`,
    );
  }
  return config;
}

/** Resolves the lazy fields and the defaults; `prometheusVersion` overrides the rules' own. */
export function resolveApp(config: VigilAppConfig, prometheusVersion?: string): ResolvedApp {
  const rules = unwrap(config.rules);
  let ruleSet: AlertRuleSet | undefined;
  if (isRuleSet(rules)) {
    if (prometheusVersion !== undefined && prometheusVersion !== rules.prometheusVersion) {
      throw new AppModuleError(
        `the module exports a rule set already defined for Prometheus ${rules.prometheusVersion}, so --prometheus-version ${prometheusVersion} cannot apply: export the options of defineAlerts() instead`,
      );
    }
    ruleSet = rules;
  } else if (rules !== undefined) {
    if (!isObject(rules)) {
      throw new AppModuleError(
        `"rules" must be the options of defineAlerts() or its result, got ${typeof rules}`,
      );
    }
    ruleSet = defineAlerts(
      prometheusVersion === undefined ? rules : { ...rules, prometheusVersion },
    );
  }
  const dashboardsGiven = unwrap(config.dashboards);
  const selectorJob = ruleSet?.selector?.job;
  const service = config.service ?? dashboardsGiven?.service ?? selectorJob ?? 'app';
  if (typeof service !== 'string' || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(service)) {
    throw new AppModuleError(
      `"service" must be a lower-case DNS label (it names the job, the compose service and the Kubernetes objects), got ${JSON.stringify(service)}`,
    );
  }
  const port = config.port ?? 3000;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new AppModuleError(`"port" must be a port number, got ${JSON.stringify(port)}`);
  }
  const alertmanager = unwrap(config.alertmanager);
  if (alertmanager !== undefined && !isObject(alertmanager)) {
    throw new AppModuleError(`"alertmanager" must be an alertmanager.yml object`);
  }
  return {
    service,
    port,
    ruleSet,
    dashboards: dashboardsGiven ?? {
      service,
      job: service,
      ...(ruleSet === undefined ? {} : { alerts: ruleSet }),
    },
    alertmanager,
    image: config.image ?? `${service}:latest`,
    command: config.command,
    env: config.env ?? {},
    compose: config.compose ?? {},
  };
}
