// Error codes of the umbrella's own options (the capabilities' codes pass through unchanged) and the
// option context their messages are built with.
import type { FactoryUsage, OptionContext } from '@vigil/core';

/** The package's name, in messages. */
export const PACKAGE = 'vigil';

/** Every code the umbrella throws itself, each documented in the README under its own heading. */
export const VIGIL_ERROR_CODES = {
  NOT_CALLED: 'ERR_VIGIL_NOT_CALLED',
  INVALID_OPTIONS: 'ERR_VIGIL_INVALID_OPTIONS',
  UNKNOWN_OPTION: 'ERR_VIGIL_UNKNOWN_OPTION',
  INVALID_OPTION: 'ERR_VIGIL_INVALID_OPTION',
  INVALID_APP: 'ERR_VIGIL_INVALID_APP',
  MOUNTED_AFTER_ROUTES: 'ERR_VIGIL_MOUNTED_AFTER_ROUTES',
  INVALID_ENV: 'ERR_VIGIL_INVALID_ENV',
  MISSING_DEPENDENCY: 'ERR_VIGIL_MISSING_DEPENDENCY',
  NOT_PRIMARY: 'ERR_VIGIL_NOT_PRIMARY',
} as const;

const USAGE: Readonly<Record<string, FactoryUsage>> = {
  vigil: {
    what: 'It takes the app itself and mounts everything on it, before your routes.',
    express: 'const app = express(); vigil(app);',
    koa: 'const app = new Koa(); vigil.koa(app);',
  },
  'vigil.express': {
    what: 'It takes the app itself and mounts everything on it, before your routes.',
    express: 'const app = express(); vigil.express(app);',
    koa: 'const app = new Koa(); vigil.koa(app);',
  },
  'vigil.koa': {
    what: 'It takes the app itself and mounts everything on it, before your routes.',
    express: 'const app = express(); vigil.express(app);',
    koa: 'const app = new Koa(); vigil.koa(app);',
  },
  'vigil.primary': {
    what: 'It is not middleware: call it once in the cluster primary.',
    express: 'if (cluster.isPrimary) await vigil.primary({ port: 9464 });',
  },
};

/** The option context of one of the umbrella's entry points. */
export function context(factory: string): OptionContext {
  return { pkg: PACKAGE, codePrefix: 'ERR_VIGIL', factory, usage: USAGE[factory] };
}
