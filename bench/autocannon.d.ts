// Types for the part of autocannon's programmatic API the bench uses; autocannon ships none.
declare module 'autocannon' {
  namespace autocannon {
    /** One prebuilt request of the list each connection cycles through. */
    interface Request {
      method?: string;
      path?: string;
      headers?: Record<string, string>;
      body?: string;
      /** Called before each send of this request; returns the request to send (soak.mjs). */
      setupRequest?: (req: Request) => Request;
    }
    interface Options {
      url: string;
      connections?: number;
      pipelining?: number;
      /** Seconds. */
      duration?: number;
      requests?: Request[];
      /** Requests to send in all, instead of a duration. */
      amount?: number;
      /** Seconds before a request times out. */
      timeout?: number;
    }
    /** The running load: a promise of its result, with events. */
    interface Instance extends Promise<Result> {
      on(event: 'response', listener: () => void): void;
    }
    /** autocannon's summary of one histogram (latency in ms, requests and bytes per second). */
    interface Histogram {
      average: number;
      mean: number;
      p50: number;
      p90: number;
      p99: number;
      max: number;
    }
    interface Result {
      /** Seconds the run actually took. */
      duration: number;
      requests: Histogram & { total: number; sent: number };
      latency: Histogram;
      throughput: Histogram;
      errors: number;
      timeouts: number;
      non2xx: number;
      resets: number;
      statusCodeStats: Record<string, { count: number }>;
    }
  }
  /** Runs the load; without a callback it returns a promise of the result. */
  function autocannon(options: autocannon.Options): autocannon.Instance;
  export = autocannon;
}
