// Express 4 and Koa 2, the older majors the tests run beside Express 5 and Koa 3. They are installed
// under npm aliases (`express4`, `koa2`) that ship no types, so they are typed as their sibling major;
// the tests use only what both majors share.
import { createRequire } from 'node:module';
import type express from 'express';
import type Koa from 'koa';

const load = createRequire(__filename);

/** Express 4 (the `express4` alias). */
export const express4 = load('express4') as typeof express;
/** Koa 2 (the `koa2` alias). */
export const Koa2 = load('koa2') as typeof Koa;
