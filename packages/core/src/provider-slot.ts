// A function one package installs and others call, kept under a registered symbol on globalThis so
// that it survives duplicated copies of @vigil/core (two versions in one node_modules tree).

export interface ProviderSlot<T> {
  /** Installs (or with `undefined` removes) the provider. */
  set(provider: (() => T | undefined) | undefined): void;
  /** What the provider returns; undefined when there is none or it throws. */
  get(): T | undefined;
}

export function providerSlot<T>(name: string): ProviderSlot<T> {
  const key = Symbol.for(name);
  const slot = globalThis as { [key: symbol]: (() => T | undefined) | undefined };
  return {
    set(provider) {
      slot[key] = provider;
    },
    get() {
      const provider = slot[key];
      if (provider === undefined) return undefined;
      try {
        return provider();
      } catch {
        return undefined;
      }
    },
  };
}
