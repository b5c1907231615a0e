// The shapes of Express and Koa middleware every Vigil package exports, declared once, structurally,
// so no package needs the frameworks' own types.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Express's `next`. */
export type NextFunction = (err?: unknown) => void;

/** An Express 4/5 middleware. */
export type ExpressMiddleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next: NextFunction,
) => void;

/** An Express 4/5 error middleware (four parameters, after the routes). */
export type ExpressErrorMiddleware = (
  err: unknown,
  req: IncomingMessage,
  res: ServerResponse,
  next: NextFunction,
) => void;

/** The part of a Koa 2/3 context every Vigil middleware reads; packages extend it with what else they read. */
export interface KoaContextLike {
  req: IncomingMessage;
  res: ServerResponse;
}

/** A Koa 2/3 middleware over a context of shape `C`. */
export type KoaMiddleware<C extends KoaContextLike = KoaContextLike> = (
  ctx: C,
  next: () => Promise<unknown>,
) => Promise<void>;
