// Types for the part of autocannon's programmatic API that load.mjs uses; autocannon ships none.
declare module 'autocannon' {
  namespace autocannon {
    /** One prebuilt request of the list each connection cycles through. */
    interface Request {
      method?: string;
      path?: string;
      headers?: Record<string, string>;
      body?: string;
    }
    interface Options {
      url: string;
      connections?: number;
      pipelining?: number;
      /** Seconds. */
      duration?: number;
      requests?: Request[];
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
  function autocannon(options: autocannon.Options): Promise<autocannon.Result>;
  export = autocannon;
}
