// vigil-alerts: `vigil-alerts generate MODULE --out DIR` writes the rule set a module exports. Exit 0 written, 1 invalid definitions, 2 usage.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { VigilError, codedError } from '@vigil/core';
import { ALERTS_ERROR_CODES, PACKAGE } from './errors';
import { defineAlerts } from './rule-set';
import { generateFiles } from './emit';
import type { AlertRuleSet, AlertsOptions } from './types';

const USAGE = `Usage: vigil-alerts generate MODULE --out DIR [--prometheus-version VERSION]
                            [--namespace NS] [--resource-label KEY=VALUE]...

Loads MODULE (CommonJS or ES module), which exports the options of defineAlerts() as its default
export or as "rules", and writes into DIR:

  NAME.rules.yml             the Prometheus rule file
  NAME.rules.test.yml        promtool unit tests (promtool test rules)
  NAME.rules.slow.test.yml   promtool unit tests of the SLO ticket tiers, when there are SLOs
  NAME.prometheus-rule.yml   the PrometheusRule resource (Prometheus Operator)
  NAME.alertmanager.yml      Alertmanager routes and inhibit rules, to merge into alertmanager.yml

  --out DIR                  where to write (created if missing)
  --prometheus-version V     the Prometheus that loads the rules (default: the module's, else 2.42)
  --namespace NS             metadata.namespace of the PrometheusRule resource
  --resource-label K=V       a metadata label of the PrometheusRule resource (repeatable)
  -h, --help                 this text

Exit status: 0 files written, 1 the definitions are invalid (the coded error is printed),
2 usage error or the module cannot be loaded.`;

function isRuleSet(value: unknown): value is AlertRuleSet {
  return (
    value !== null &&
    typeof value === 'object' &&
    Array.isArray((value as AlertRuleSet).groups) &&
    typeof (value as AlertRuleSet).prometheusVersion === 'string'
  );
}

/** The rule set of a loaded module: its `rules` or default export, as options or already defined. */
export function ruleSetOf(
  exports: Record<string, unknown>,
  prometheusVersion?: string,
): AlertRuleSet {
  const candidate =
    exports.rules ??
    (exports.default as Record<string, unknown> | undefined)?.rules ??
    exports.default;
  if (isRuleSet(candidate)) {
    if (prometheusVersion !== undefined) {
      return defineAlertsAgain(candidate, prometheusVersion);
    }
    return candidate;
  }
  if (candidate === null || typeof candidate !== 'object' || Array.isArray(candidate)) {
    throw codedError(
      { pkg: PACKAGE },
      ALERTS_ERROR_CODES.INVALID_RULES_MODULE,
      `The module exports no rules: expected the options of defineAlerts() as "rules" or as the default export, found ${Object.keys(exports).length === 0 ? 'no exports' : `the exports ${Object.keys(exports).join(', ')}`}.`,
      'Export them: `module.exports = { rules: { alerts: [...], slos: [...] } }` or `export default { alerts: [...], slos: [...] }`.',
    );
  }
  const options = candidate as AlertsOptions;
  return defineAlerts(
    prometheusVersion === undefined ? options : { ...options, prometheusVersion },
  );
}

function defineAlertsAgain(set: AlertRuleSet, version: string): AlertRuleSet {
  throw codedError(
    { pkg: PACKAGE },
    ALERTS_ERROR_CODES.INVALID_RULES_MODULE,
    `The module exports a rule set already defined for Prometheus ${set.prometheusVersion}, so --prometheus-version ${version} cannot be applied to it.`,
    'Export the options of defineAlerts() instead of its result, or leave out --prometheus-version.',
  );
}

/** Runs the CLI with `argv` (without node and the script); resolves to the exit status. */
export async function main(
  argv: readonly string[],
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    err(`vigil-alerts: ${e instanceof Error ? e.message : String(e)}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    out(USAGE);
    return 0;
  }
  const [command, file, ...extra] = positionals;
  if (command !== 'generate' || file === undefined || extra.length > 0) {
    err(command === undefined ? USAGE : `vigil-alerts: expected "generate MODULE"\n\n${USAGE}`);
    return 2;
  }
  if (values.out === undefined) {
    err(`vigil-alerts: --out DIR is required\n\n${USAGE}`);
    return 2;
  }
  const labels: Record<string, string> = {};
  for (const pair of values['resource-label'] ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      err(`vigil-alerts: --resource-label takes KEY=VALUE, got "${pair}"`);
      return 2;
    }
    labels[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  let exports: Record<string, unknown>;
  try {
    exports = (await import(pathToFileURL(resolve(file)).href)) as Record<string, unknown>;
  } catch (e) {
    err(`vigil-alerts: cannot load ${file}: ${e instanceof Error ? e.message : String(e)}`);
    return e instanceof VigilError ? 1 : 2;
  }
  let files: Record<string, string>;
  let set: AlertRuleSet;
  try {
    set = ruleSetOf(exports, values['prometheus-version']);
    files = generateFiles(set, {
      resource: {
        ...(values.namespace === undefined ? {} : { namespace: values.namespace }),
        ...(Object.keys(labels).length === 0 ? {} : { labels }),
      },
    });
  } catch (e) {
    if (e instanceof VigilError) {
      err(`vigil-alerts: ${e.message}`);
      return 1;
    }
    throw e;
  }
  try {
    mkdirSync(values.out, { recursive: true });
    for (const [name, content] of Object.entries(files)) {
      writeFileSync(join(values.out, name), content);
      out(`wrote ${join(values.out, name)}`);
    }
    for (const name of set.untested) {
      err(`vigil-alerts: note: alert ${name} has no tests (give promqlAlert() its "tests")`);
    }
  } catch (e) {
    err(
      `vigil-alerts: cannot write to ${values.out}: ${e instanceof Error ? e.message : String(e)}`,
    );
    return 2;
  }
  return 0;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      out: { type: 'string', short: 'o' },
      'prometheus-version': { type: 'string' },
      namespace: { type: 'string' },
      'resource-label': { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
