// The four framework majors the tests run (Express 4 and 5, Koa 2 and 3), and one builder that makes
// a package's test app on any of them. Express 4 and Koa 2 are installed under npm aliases
// (`express4`, `koa2`) that ship no types, so they are typed as their sibling major; the tests use
// only what both majors share.
import type { RequestListener } from 'node:http';
import { createRequire } from 'node:module';
import express, { type ErrorRequestHandler } from 'express';
import Koa from 'koa';

const load = createRequire(__filename);

/** Express 4 (the `express4` alias). */
export const express4 = load('express4') as typeof express;
/** Express 5. */
export const express5: typeof express = express;
/** Koa 2 (the `koa2` alias). */
export const Koa2 = load('koa2') as typeof Koa;
/** Koa 3. */
export const Koa3: typeof Koa = Koa;

export type FrameworkName = 'express4' | 'express5' | 'koa2' | 'koa3';
export type FrameworkKind = 'express' | 'koa';

const version = (pkg: string): string =>
  (load(`${pkg}/package.json`) as { version: string }).version;

/** Installed versions, so a test can prove each alias really is the major it claims. */
export const VERSIONS: Readonly<Record<FrameworkName, string>> = {
  express4: version('express4'),
  express5: version('express'),
  koa2: version('koa2'),
  koa3: version('koa'),
};

/** One framework major under test; a package's suite adds its own app builder to it. */
export interface FrameworkHandle {
  name: FrameworkName;
  kind: FrameworkKind;
  /** Whether a rejected promise from a handler reaches the error handler (Express 5, Koa). */
  asyncErrors: boolean;
}

/** The four majors, in the order the suites run them. */
export const FRAMEWORK_HANDLES: readonly FrameworkHandle[] = [
  { name: 'express4', kind: 'express', asyncErrors: false },
  { name: 'express5', kind: 'express', asyncErrors: true },
  { name: 'koa2', kind: 'koa', asyncErrors: true },
  { name: 'koa3', kind: 'koa', asyncErrors: true },
];

/** What a test app is made of on each kind of framework: its middleware and routes, in order. */
export interface AppRecipe {
  /** Mounts on an Express app; `e` is the major's module (`e.Router()`, `e.json()`, ...). */
  express(app: express.Express, e: typeof express, errors: unknown[]): void;
  /** Mounts on a Koa app, whose 'error' events are already recorded in `errors`. */
  koa(app: Koa, errors: unknown[]): void;
  /**
   * Express: an error handler mounted after the routes records the error in `errors` and answers
   * 500 with this JSON body. Without it, errors are left to Express's default handler.
   */
  expressErrorBody?: (err: unknown) => unknown;
}

export interface FrameworkApp {
  /** The app as a request listener, for startServer() or listen(). */
  listener: RequestListener;
  /** Errors Express's error handler (with `expressErrorBody`), Koa's 'error' event or the recipe saw. */
  errors: unknown[];
}

/** Builds the app `recipe` describes on the framework `name`. */
export function frameworkApp(name: FrameworkName, recipe: AppRecipe): FrameworkApp {
  const errors: unknown[] = [];
  if (name === 'express4' || name === 'express5') {
    const e = name === 'express4' ? express4 : express5;
    const app = e();
    recipe.express(app, e, errors);
    const body = recipe.expressErrorBody;
    if (body !== undefined) {
      const onError: ErrorRequestHandler = (err: unknown, _req, res, _next) => {
        errors.push(err);
        res.status(500).json(body(err));
      };
      app.use(onError);
    }
    return { listener: app, errors };
  }
  const app = new (name === 'koa2' ? Koa2 : Koa3)();
  // Recorded, and not printed on stderr as Koa does when the app has no listener.
  app.on('error', (err: unknown) => errors.push(err));
  recipe.koa(app, errors);
  const handle = app.callback();
  return { listener: (req, res) => void handle(req, res), errors };
}

/** A gate a route waits on, so a test controls exactly when pending requests answer. */
export class Gate {
  /** How many requests have reached the gate. */
  entered = 0;
  private release!: () => void;
  private readonly opened = new Promise<void>((resolve) => (this.release = resolve));
  async pass(): Promise<void> {
    this.entered++;
    await this.opened;
  }
  open(): void {
    this.release();
  }
}
