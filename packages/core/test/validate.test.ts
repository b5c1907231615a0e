// Option validation: readOptions and the typed option readers, codes and messages pinned.
import express from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import Koa from 'koa';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import {
  LABEL_NAME_PATTERN,
  METRIC_NAME_PATTERN,
  VigilError,
  booleanOption,
  bucketsOption,
  functionOption,
  integerOption,
  optionNames,
  readOptions,
  stringOption,
} from '@vigil/core';
import type { OptionContext } from '@vigil/core';

const CONTEXT: OptionContext = {
  pkg: '@vigil/example',
  codePrefix: 'ERR_VIGIL_EXAMPLE',
  factory: 'exampleMiddleware',
  usage: { what: 'It returns the middleware.', express: 'app.use(exampleMiddleware())' },
};
const KNOWN = ['prefix', 'buckets', 'enabled'] as const;
const README = 'See "Error codes" in the @vigil/example README.';

/** Runs `fn`, expecting a VigilError, and returns it. */
function thrown(fn: () => unknown): VigilError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(VigilError);
    return error as VigilError;
  }
  throw new Error('expected a VigilError, nothing was thrown');
}

/** A factory as packages write them: the argument count tells a call from a bare mount. */
function exampleMiddleware(...args: unknown[]): RequestHandler {
  readOptions(CONTEXT, args[0], args.length, KNOWN);
  return (_req, _res, next) => next();
}

describe('readOptions', () => {
  it('should give an empty object for undefined', () => {
    expect(readOptions(CONTEXT, undefined, 0, KNOWN)).toEqual({});
    expect(readOptions(CONTEXT, undefined, 1, KNOWN)).toEqual({});
  });

  it('should give a copy of a valid options object', () => {
    const options = { prefix: 'app_', enabled: true };

    const read = readOptions(CONTEXT, options, 1, KNOWN);

    expect(read).toEqual(options);
    expect(read).not.toBe(options);
  });

  it.each<[string, unknown, string]>([
    ['null', null, 'null'],
    ['a number', 5, '5'],
    ['a string', 'app_', "'app_'"],
    ['a boolean', true, 'true'],
    ['an array', ['prefix'], "[ 'prefix' ]"],
    ['a function', function opts() {}, 'a function (opts)'],
  ])('should reject %s with INVALID_OPTIONS', (_label, value, shown) => {
    const error = thrown(() => readOptions(CONTEXT, value, 1, KNOWN));

    expect(error.code).toBe('ERR_VIGIL_EXAMPLE_INVALID_OPTIONS');
    expect(error.message).toBe(
      `ERR_VIGIL_EXAMPLE_INVALID_OPTIONS: exampleMiddleware(): option "options" must be an object or undefined, received ${shown}. ${README}`,
    );
  });

  it('should reject an unknown key with UNKNOWN_OPTION, listing the known ones', () => {
    const error = thrown(() => readOptions(CONTEXT, { prefix: 'a', bukets: [1] }, 1, KNOWN));

    expect(error.code).toBe('ERR_VIGIL_EXAMPLE_UNKNOWN_OPTION');
    expect(error.message).toBe(
      `ERR_VIGIL_EXAMPLE_UNKNOWN_OPTION: exampleMiddleware(): option "bukets" must be one of prefix, buckets, enabled, received 'bukets'. Check the spelling of the option name. ${README}`,
    );
  });

  it.each<[string, unknown, number]>([
    ['(req, res, next)-like arguments', { socket: {}, headers: {} }, 3],
    ['(ctx, next)-like arguments', { req: {}, res: {}, app: {} }, 2],
    ['two arguments of any kind', {}, 2],
    ['a lone request object', { socket: {}, headers: {} }, 1],
  ])('should reject %s with NOT_CALLED', (_label, value, argCount) => {
    const error = thrown(() => readOptions(CONTEXT, value, argCount, KNOWN));

    expect(error.code).toBe('ERR_VIGIL_EXAMPLE_NOT_CALLED');
    expect(error.message).toContain(
      'It returns the middleware. Fix: `app.use(exampleMiddleware())`.',
    );
  });

  it('should explain a factory mounted without () on a real Express app', async () => {
    const app = express();
    const errors: unknown[] = [];
    app.use(exampleMiddleware as unknown as RequestHandler);
    app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      errors.push(err);
      res.status(500).end();
    });

    await request(app).get('/').expect(500);

    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'ERR_VIGIL_EXAMPLE_NOT_CALLED' });
  });

  it('should explain a factory mounted without () on a real Koa app', async () => {
    const app = new Koa();
    const errors: unknown[] = [];
    app.on('error', (err: unknown) => errors.push(err));
    app.use(exampleMiddleware);

    await request(app.callback()).get('/').expect(500);

    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'ERR_VIGIL_EXAMPLE_NOT_CALLED' });
  });
});

describe('booleanOption', () => {
  it.each([
    [undefined, true, true],
    [undefined, false, false],
    [true, false, true],
    [false, true, false],
  ])('should read %s with default %s as %s', (value, fallback, expected) => {
    expect(booleanOption(CONTEXT, 'enabled', value, fallback)).toBe(expected);
  });

  it.each<[unknown, string]>([
    ['true', "'true'"],
    [1, '1'],
    [0, '0'],
    [null, 'null'],
    [{}, '{}'],
  ])('should reject %s with INVALID_OPTION', (value, shown) => {
    const error = thrown(() => booleanOption(CONTEXT, 'enabled', value, true));

    expect(error.code).toBe('ERR_VIGIL_EXAMPLE_INVALID_OPTION');
    expect(error.message).toBe(
      `ERR_VIGIL_EXAMPLE_INVALID_OPTION: exampleMiddleware(): option "enabled" must be a boolean, received ${shown}. ${README}`,
    );
  });
});

describe('stringOption', () => {
  it('should give the default for undefined and accept a string', () => {
    expect(stringOption(CONTEXT, 'prefix', undefined, 'http_')).toBe('http_');
    expect(stringOption(CONTEXT, 'prefix', 'app_', 'http_')).toBe('app_');
    expect(stringOption(CONTEXT, 'prefix', '', 'http_')).toBe('');
  });

  it('should accept a string matching the pattern', () => {
    expect(
      stringOption(CONTEXT, 'prefix', 'app_', 'http_', METRIC_NAME_PATTERN, 'a metric name'),
    ).toBe('app_');
  });

  it.each<[unknown, string]>([
    [5, '5'],
    [null, 'null'],
    [['a'], "[ 'a' ]"],
    [Symbol('s'), 'Symbol(s)'],
  ])('should reject %s with INVALID_OPTION', (value, shown) => {
    const error = thrown(() => stringOption(CONTEXT, 'prefix', value, 'http_'));

    expect(error.code).toBe('ERR_VIGIL_EXAMPLE_INVALID_OPTION');
    expect(error.message).toBe(
      `ERR_VIGIL_EXAMPLE_INVALID_OPTION: exampleMiddleware(): option "prefix" must be a string, received ${shown}. ${README}`,
    );
  });

  it('should reject a string outside the pattern, naming the pattern', () => {
    const error = thrown(() =>
      stringOption(
        CONTEXT,
        'prefix',
        'my-app',
        'http_',
        METRIC_NAME_PATTERN,
        'a Prometheus metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)',
      ),
    );

    expect(error.code).toBe('ERR_VIGIL_EXAMPLE_INVALID_OPTION');
    expect(error.message).toContain(
      'option "prefix" must be a Prometheus metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*), received \'my-app\'.',
    );
  });

  it('should say "a string" for a pattern mismatch without a pattern text', () => {
    const error = thrown(() => stringOption(CONTEXT, 'prefix', 'my-app', 'x', /^[a-z]+$/));

    expect(error.message).toContain('option "prefix" must be a string, received \'my-app\'.');
  });
});

describe('integerOption', () => {
  it.each([
    [undefined, 10],
    [0, 0],
    [1, 1],
    [100, 100],
  ])('should read %s as %s', (value, expected) => {
    expect(integerOption(CONTEXT, 'limit', value, 10, 0, 100)).toBe(expected);
  });

  it.each<[string, unknown, string]>([
    ['a fraction', 1.5, '1.5'],
    ['NaN', NaN, 'NaN'],
    ['Infinity', Infinity, 'Infinity'],
    ['a numeric string', '5', "'5'"],
    ['a value below the minimum', -1, '-1'],
    ['a value above the maximum', 101, '101'],
    ['null', null, 'null'],
    ['a bigint', 5n, '5n'],
  ])('should reject %s with INVALID_OPTION', (_label, value, shown) => {
    const error = thrown(() => integerOption(CONTEXT, 'limit', value, 10, 0, 100));

    expect(error.code).toBe('ERR_VIGIL_EXAMPLE_INVALID_OPTION');
    expect(error.message).toBe(
      `ERR_VIGIL_EXAMPLE_INVALID_OPTION: exampleMiddleware(): option "limit" must be an integer from 0 to 100, received ${shown}. ${README}`,
    );
  });
});

describe('functionOption', () => {
  it('should give undefined for undefined and the function itself otherwise', () => {
    const hook = (): void => undefined;

    expect(functionOption(CONTEXT, 'onError', undefined)).toBeUndefined();
    expect(functionOption(CONTEXT, 'onError', hook)).toBe(hook);
  });

  it.each<[unknown, string]>([
    ['hook', "'hook'"],
    [{}, '{}'],
    [null, 'null'],
    [1, '1'],
  ])('should reject %s with INVALID_OPTION', (value, shown) => {
    const error = thrown(() => functionOption(CONTEXT, 'onError', value));

    expect(error.code).toBe('ERR_VIGIL_EXAMPLE_INVALID_OPTION');
    expect(error.message).toBe(
      `ERR_VIGIL_EXAMPLE_INVALID_OPTION: exampleMiddleware(): option "onError" must be a function, received ${shown}. ${README}`,
    );
  });
});

describe('bucketsOption', () => {
  const DEFAULT = Object.freeze([0.1, 1, 10]);

  it('should give the default for undefined', () => {
    expect(bucketsOption(CONTEXT, 'buckets', undefined, DEFAULT)).toBe(DEFAULT);
  });

  it.each([[[0.005, 0.01, 0.1, 1]], [[1]], [[-1, 0, 1]], [[0, Number.MAX_VALUE]]])(
    'should give a frozen copy of %j',
    (buckets) => {
      const read = bucketsOption(CONTEXT, 'buckets', buckets, DEFAULT);

      expect(read).toEqual(buckets);
      expect(read).not.toBe(buckets);
      expect(Object.isFrozen(read)).toBe(true);
    },
  );

  it.each<[string, unknown]>([
    ['unsorted buckets', [1, 0.5]],
    ['repeated buckets', [0.1, 0.1]],
    ['an empty array', []],
    ['NaN', [0.1, NaN]],
    ['Infinity', [0.1, Infinity]],
    ['-Infinity', [-Infinity, 0]],
    ['strings', ['0.1', '1']],
    ['a mix of numbers and null', [0.1, null]],
    ['a string', '0.1,1'],
    ['null', null],
    ['an object', { 0: 0.1, length: 1 }],
    ['an array of holes, as new Array(3).map(...) leaves it', new Array<number>(3).map(() => 1)],
    ['an array with a trailing hole', Object.assign([0.1, 0.5], { length: 3 })],
  ])('should reject %s with INVALID_BUCKETS', (_label, value) => {
    const error = thrown(() => bucketsOption(CONTEXT, 'buckets', value, DEFAULT));

    expect(error.code).toBe('ERR_VIGIL_EXAMPLE_INVALID_BUCKETS');
    expect(error.message).toMatch(
      /^ERR_VIGIL_EXAMPLE_INVALID_BUCKETS: exampleMiddleware\(\): option "buckets" must be a non-empty array of finite numbers in strictly increasing order \(\+Inf is added for you\), received /,
    );
    expect(error.message).toContain(README);
  });

  it('should show the given buckets in the message, on one line', () => {
    const unsorted = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 1];

    const error = thrown(() => bucketsOption(CONTEXT, 'buckets', unsorted, DEFAULT));

    expect(error.message).toContain('0.005');
    expect(error.message).not.toMatch(/[\r\n]/);
  });
});

describe('METRIC_NAME_PATTERN and LABEL_NAME_PATTERN', () => {
  it.each([
    ['http_requests_total', true, true],
    ['ns:metric', true, false],
    ['_private', true, true],
    ['9lives', false, false],
    ['with-dash', false, false],
    ['', false, false],
  ])('should judge %j as metric name %s and label name %s', (name, metric, label) => {
    expect(METRIC_NAME_PATTERN.test(name)).toBe(metric);
    expect(LABEL_NAME_PATTERN.test(name)).toBe(label);
  });
});

describe('optionNames', () => {
  interface Options {
    alpha?: number;
    beta?: string;
  }

  it('should list every option of the type, in the order given', () => {
    expect(optionNames<Options>({ beta: true, alpha: true })).toEqual(['beta', 'alpha']);
  });

  it('should be rejected by the compiler when an option of the type is missing or unknown', () => {
    // @ts-expect-error -- `beta` is missing: a new option must be listed where it is read.
    const missing = optionNames<Options>({ alpha: true });
    // @ts-expect-error -- `gamma` is not an option of the type.
    const extra = optionNames<Options>({ alpha: true, beta: true, gamma: true });
    expect([missing, extra].map((names) => names.length)).toEqual([1, 3]);
  });
});
