// The server of bench/soak.mjs: vigil-full-stack-10, answering memory questions over IPC. Its log
// destination has no bound of its own (`logMaxLength: 0`): @vigil/logging's applies, as in an app
// that passes a plain pino.destination({ sync: false }).
import { answerIpcQuestions } from './full-stack-extras.mjs';
import { serveVigilFullStack } from './vigil-full-stack.mjs';

await serveVigilFullStack(0.1, { extend: () => answerIpcQuestions(), logMaxLength: 0 });
