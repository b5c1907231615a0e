// The server of bench/scrape.mjs: vigil-full-stack-10 with extra series in its registry
// (BENCH_SCRAPE_SERIES, default 10,000 with the stack's own), answering event-loop questions over IPC.
// As in the soak, its log destination has no bound of its own (`logMaxLength: 0`): @vigil/logging's
// applies, so a minute of load does not pile the lines SonicBoom has not written yet on the heap.
import { addSeries, answerIpcQuestions } from './full-stack-extras.mjs';
import { serveVigilFullStack } from './vigil-full-stack.mjs';

const series = Number(process.env.BENCH_SCRAPE_SERIES ?? 10_000);
await serveVigilFullStack(0.1, {
  extend: (_app, registry) => {
    addSeries(registry, series);
    answerIpcQuestions();
  },
  logMaxLength: 0,
});
