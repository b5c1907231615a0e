// Figures the conformance and fuzz suites print: variants tried, crashes, traces continued vs restarted.
import type { Verdict } from './conformance-checks';

export interface Figures {
  tried: number;
  crashes: number;
  continued: number;
  restarted: number;
  /** Variants with at least one conformance problem (fetch or http.request path). */
  nonConforming: number;
}

/** Counts per row label (e.g. "express, trusted") and input class (e.g. "traceparent"). */
export class Tally {
  private readonly rows = new Map<string, Map<string, Figures>>();

  add(row: string, klass: string, verdict: Verdict): void {
    let classes = this.rows.get(row);
    if (classes === undefined) this.rows.set(row, (classes = new Map()));
    let f = classes.get(klass);
    if (f === undefined) {
      f = { tried: 0, crashes: 0, continued: 0, restarted: 0, nonConforming: 0 };
      classes.set(klass, f);
    }
    f.tried++;
    if (verdict.crashed) f.crashes++;
    else if (verdict.continued) f.continued++;
    else f.restarted++;
    if (verdict.problems.length + verdict.httpProblems.length > 0) f.nonConforming++;
  }

  /** Totals over every row and class. */
  total(): Figures {
    const t: Figures = { tried: 0, crashes: 0, continued: 0, restarted: 0, nonConforming: 0 };
    for (const classes of this.rows.values()) {
      for (const f of classes.values()) {
        t.tried += f.tried;
        t.crashes += f.crashes;
        t.continued += f.continued;
        t.restarted += f.restarted;
        t.nonConforming += f.nonConforming;
      }
    }
    return t;
  }

  /** One line per row and class. */
  lines(title: string): string[] {
    const out: string[] = [];
    for (const [row, classes] of this.rows) {
      for (const [klass, f] of classes) {
        out.push(
          `[${title}] ${row} | ${klass}: ${f.tried} variants, ${f.crashes} crashes, ` +
            `${f.continued} continued, ${f.restarted} restarted, ${f.nonConforming} non-conforming`,
        );
      }
    }
    return out;
  }
}
