// Per-request values read as properties of the request (`req.log`, `req.rateLimit`) without storing
// them on it.
//
// Express swaps the prototype of every req (Object.setPrototypeOf), and V8 then adds each new property
// to it slowly: microseconds a property, measured. A package keeps the value in a slot of the request's
// record instead, and defines the property once, as an accessor on the request prototype that finds
// the record.
import { IncomingMessage } from 'node:http';

const kAccessor = Symbol('vigil.core.requestAccessor');
type Accessor = (() => unknown) & { [kAccessor]?: string };

/**
 * Where a request accessor goes for `req`: the prototype shared by all of the framework's requests (the
 * one just above Node's IncomingMessage.prototype, Express's `express.request`), so Express sub-apps,
 * which swap in prototypes of their own that inherit from it, see it too. For a plain Node request
 * (Koa's `ctx.req`) that is IncomingMessage.prototype itself; for anything else (HTTP/2's
 * compatibility API) the request's own prototype.
 */
export function requestPrototypeOf(req: object): object | null {
  const first = Object.getPrototypeOf(req) as object | null;
  for (let proto = first; proto !== null;) {
    if (proto === IncomingMessage.prototype) return proto;
    const up = Object.getPrototypeOf(proto) as object | null;
    if (up === IncomingMessage.prototype) return proto;
    proto = up;
  }
  return first;
}

/**
 * Defines `name` once on `target` (a prototype): a getter that returns `read(receiver)`, else, when
 * that is undefined, what `name` was before (another copy of Vigil's accessor, or a default someone
 * put there). Assigning `name` on an instance makes it that instance's own value, as if the accessor
 * were not there. Does nothing when this copy's accessor is there already, or when `name` is a
 * property that cannot be redefined.
 */
export function defineRequestAccessor(
  target: object,
  name: string,
  read: (self: object) => unknown,
): void {
  const previous = Object.getOwnPropertyDescriptor(target, name);
  if ((previous?.get as Accessor | undefined)?.[kAccessor] === name) return;
  if (previous !== undefined && previous.configurable !== true) return;
  const get: Accessor = function vigilRequestAccessor(this: object) {
    const own = read(this);
    if (own !== undefined) return own;
    return previous?.get !== undefined ? previous.get.call(this) : previous?.value;
  };
  get[kAccessor] = name;
  Object.defineProperty(target, name, {
    configurable: true,
    enumerable: false,
    get,
    set(this: object, value: unknown) {
      Object.defineProperty(this, name, {
        value,
        writable: true,
        configurable: true,
        enumerable: true,
      });
    },
  });
}
