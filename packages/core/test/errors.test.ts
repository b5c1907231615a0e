// Coded errors: VigilError, optionError, describeValue, notCalledError and framework-call detection.
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import Koa from 'koa';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import {
  VigilError,
  describeValue,
  looksLikeFrameworkCall,
  notCalledError,
  optionError,
  frameworkOf,
} from '@vigil/core';
import type { OptionContext } from '@vigil/core';

const CONTEXT: OptionContext = {
  pkg: '@vigil/example',
  codePrefix: 'ERR_VIGIL_EXAMPLE',
  factory: 'exampleMiddleware',
};

/** True when the text holds a line break of any kind. */
const isMultiLine = (text: string): boolean => /[\r\n\u2028\u2029]/.test(text);

describe('VigilError', () => {
  it('should carry the code and start its message with it', () => {
    const error = new VigilError('ERR_VIGIL_EXAMPLE_BROKEN', 'it broke.');

    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(VigilError);
    expect(error.name).toBe('VigilError');
    expect(error.code).toBe('ERR_VIGIL_EXAMPLE_BROKEN');
    expect(error.message).toBe('ERR_VIGIL_EXAMPLE_BROKEN: it broke.');
    expect(String(error)).toBe('VigilError: ERR_VIGIL_EXAMPLE_BROKEN: it broke.');
  });
});

describe('optionError', () => {
  it('should name the option, the expectation, the value received, the fix and the README', () => {
    const error = optionError(
      CONTEXT,
      'INVALID_OPTION',
      'timeoutMs',
      'an integer from 1 to 60000',
      -5,
      'Give the timeout in milliseconds.',
    );

    expect(error).toBeInstanceOf(VigilError);
    expect(error.code).toBe('ERR_VIGIL_EXAMPLE_INVALID_OPTION');
    expect(error.message).toBe(
      'ERR_VIGIL_EXAMPLE_INVALID_OPTION: exampleMiddleware(): option "timeoutMs" must be an integer from 1 to 60000, received -5. Give the timeout in milliseconds. See "Error codes" in the @vigil/example README.',
    );
  });

  it('should leave the fix out cleanly when none is given', () => {
    const error = optionError(CONTEXT, 'INVALID_OPTION', 'name', 'a string', 42);

    expect(error.message).toBe(
      'ERR_VIGIL_EXAMPLE_INVALID_OPTION: exampleMiddleware(): option "name" must be a string, received 42. See "Error codes" in the @vigil/example README.',
    );
    expect(error.message).not.toContain('  ');
  });

  it('should keep the message short and on one line for a huge value', () => {
    const error = optionError(CONTEXT, 'INVALID_OPTION', 'name', 'a string', {
      blob: 'x'.repeat(10_240),
    });

    expect(error.message.length).toBeLessThan(400);
    expect(isMultiLine(error.message)).toBe(false);
  });
});

describe('describeValue', () => {
  it.each<[string, unknown, string]>([
    ['a number', 5, '5'],
    ['a string', 'abc', "'abc'"],
    ['undefined', undefined, 'undefined'],
    ['null', null, 'null'],
    ['a boolean', true, 'true'],
    ['a bigint', 10n, '10n'],
    ['NaN', NaN, 'NaN'],
    ['a short array', [1, 2, 3], '[ 1, 2, 3 ]'],
    ['a nested object', { a: { b: { c: 1 } } }, '{ a: { b: [Object] } }'],
    ['a named function', function myHook() {}, 'a function (myHook)'],
    ['a string with a line break', 'a\nb', "'a\\nb'"],
  ])('should render %s', (_label, value, expected) => {
    expect(describeValue(value)).toBe(expected);
  });

  it('should render an anonymous function without a name', () => {
    const values: unknown[] = [() => 1];

    expect(describeValue(values[0])).toBe('a function');
  });

  it('should truncate a 10 kB string below 130 characters', () => {
    const text = describeValue('x'.repeat(10_240));

    expect(text.length).toBeLessThan(130);
    expect(text.startsWith("'xxxx")).toBe(true);
    expect(isMultiLine(text)).toBe(false);
  });

  it.each<[string, unknown]>([
    ['a 10 kB string', 'y'.repeat(10_240)],
    ['a 10 kB string of line breaks', '\n'.repeat(10_240)],
    [
      'an object with 1,000 keys',
      Object.fromEntries(Array.from({ length: 1_000 }, (_, i) => [`k${i}`, i])),
    ],
    ['a deep object', { a: { b: { c: { d: { e: 'x'.repeat(500) } } } } }],
    ['a Map', new Map([['k', 'v'.repeat(1_000)]])],
    ['an object with a multi-line string', { text: 'line one\nline two\r\nline three' }],
  ])('should keep %s short and on one line', (_label, value) => {
    const text = describeValue(value);

    expect(text.length).toBeLessThanOrEqual(120);
    expect(isMultiLine(text)).toBe(false);
  });

  it.each<[string, unknown]>([
    [
      'a typical bucket array with more than six entries',
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    ],
    ['an array of seven short strings', ['a', 'b', 'c', 'd', 'e', 'f', 'g']],
    ['a 10,000-item array', Array.from({ length: 10_000 }, (_, i) => i)],
    ['an Error', new Error('boom')],
  ])('should render %s on one line', (_label, value) => {
    const text = describeValue(value);

    expect(text.length).toBeLessThanOrEqual(120);
    expect(isMultiLine(text)).toBe(false);
  });
});

describe('notCalledError', () => {
  const socket = new Socket();
  afterAll(() => {
    socket.destroy();
  });
  const expressRequest = (): IncomingMessage => new IncomingMessage(socket);
  const koaContext = (): object => {
    const req = new IncomingMessage(socket);
    return new Koa().createContext(req, new ServerResponse(req));
  };
  const MIDDLEWARE: OptionContext = {
    ...CONTEXT,
    usage: {
      what: 'It returns the middleware: mount the result before your routes.',
      express: 'app.use(exampleMiddleware())',
      koa: 'app.use(koaExampleMiddleware())',
    },
  };

  it('should give the Express fix, with the factory, the arguments it got and the README', () => {
    const error = notCalledError(MIDDLEWARE, expressRequest());

    expect(error.code).toBe('ERR_VIGIL_EXAMPLE_NOT_CALLED');
    expect(error.message).toBe(
      'ERR_VIGIL_EXAMPLE_NOT_CALLED: exampleMiddleware was called with Express\'s (req, res, next) instead of its options: it was handed to the app (app.use() or a route) without being called. It returns the middleware: mount the result before your routes. Fix: `app.use(exampleMiddleware())`. See "Error codes" in the @vigil/example README.',
    );
  });

  it("should give the Koa fix in a Koa app, and say when it names the factory's Koa twin", () => {
    const error = notCalledError(MIDDLEWARE, koaContext());

    expect(error.message).toContain("exampleMiddleware was called with Koa's (ctx, next)");
    expect(error.message).toContain(
      'This is a Koa app, and exampleMiddleware is not for it. It returns the middleware: mount the result before your routes. Fix: `app.use(koaExampleMiddleware())`.',
    );
    expect(error.message).not.toContain('`app.use(exampleMiddleware())`');
  });

  it('should give both fixes, labelled, when the framework is not known', () => {
    const error = notCalledError(MIDDLEWARE, { some: 'thing' });

    expect(error.message).toContain('exampleMiddleware was called with framework arguments');
    expect(error.message).toContain(
      'Fix: `app.use(exampleMiddleware())` (Express), `app.use(koaExampleMiddleware())` (Koa).',
    );
  });

  it('should give one fix for both frameworks when they share it, and join alternatives with or', () => {
    const context: OptionContext = {
      ...CONTEXT,
      factory: 'startExample',
      usage: {
        what: 'It is not middleware: call it once at startup.',
        express: ['const example = await startExample()', 'startExample().catch(console.error)'],
      },
    };

    for (const received of [expressRequest(), koaContext(), undefined]) {
      expect(notCalledError(context, received).message).toContain(
        'It is not middleware: call it once at startup. Fix: `const example = await startExample()` or `startExample().catch(console.error)`. See',
      );
    }
  });

  it('should only say to call the factory, with no code, when the context has no usage', () => {
    const error = notCalledError(CONTEXT, expressRequest());

    expect(error.message).toContain(
      'Call exampleMiddleware() yourself with its options, as the @vigil/example README shows, and use what it returns.',
    );
    expect(error.message).not.toContain('`');
    expect(error.message).not.toContain('Fix:');
  });
});

describe('frameworkOf', () => {
  const socket = new Socket();
  afterAll(() => {
    socket.destroy();
  });

  it("should tell a real Express request from a real Koa context (which delegates Express's fields)", async () => {
    const app = express();
    const seen: unknown[] = [];
    app.use((req: Request, res: Response) => {
      seen.push(frameworkOf(req));
      res.send('ok');
    });
    await request(app).get('/').expect(200);
    const req = new IncomingMessage(socket);

    expect(seen).toEqual(['express']);
    expect(frameworkOf(new Koa().createContext(req, new ServerResponse(req)))).toBe('koa');
  });

  it.each<[string, unknown]>([
    ['undefined', undefined],
    ['an options object', { prefix: 'http_' }],
    ['a function', () => undefined],
  ])('should be undefined for %s', (_label, value) => {
    expect(frameworkOf(value)).toBeUndefined();
  });
});

describe('looksLikeFrameworkCall', () => {
  const socket = new Socket();
  afterAll(() => {
    socket.destroy();
  });

  it('should be true for the (req, res, next) arguments of a real Express app', async () => {
    const app = express();
    const verdicts: boolean[] = [];
    app.use((...args: [Request, Response, NextFunction]) => {
      verdicts.push(looksLikeFrameworkCall(args[0], args.length));
      // The request alone is recognised too, whatever the argument count.
      verdicts.push(looksLikeFrameworkCall(args[0], 1));
      args[1].send('ok');
    });

    await request(app).get('/').expect(200);

    expect(verdicts).toEqual([true, true]);
  });

  it('should be true for a real Koa context, alone or with next', () => {
    const req = new IncomingMessage(socket);
    const ctx = new Koa().createContext(req, new ServerResponse(req));

    expect(looksLikeFrameworkCall(ctx, 2)).toBe(true);
    expect(looksLikeFrameworkCall(ctx, 1)).toBe(true);
  });

  it('should be true for a bare IncomingMessage', () => {
    expect(looksLikeFrameworkCall(new IncomingMessage(socket), 1)).toBe(true);
  });

  it.each<[string, unknown, number]>([
    ['{}', {}, 1],
    ['undefined with no arguments', undefined, 0],
    ['undefined as one argument', undefined, 1],
    ['null', null, 1],
    ['a string', 'options', 1],
    ['an options object', { prefix: 'http_', buckets: [1, 2] }, 1],
    ['an object with headers only', { headers: {} }, 1],
    ['an object with req and res only', { req: {}, res: {} }, 1],
  ])('should be false for %s', (_label, value, argCount) => {
    expect(looksLikeFrameworkCall(value, argCount)).toBe(false);
  });
});
