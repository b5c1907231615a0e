// The server of bench/soak.mjs: vigil-full-stack-10, answering memory questions over IPC.
import { answerIpcQuestions } from './full-stack-extras.mjs';
import { serveVigilFullStack } from './vigil-full-stack.mjs';

await serveVigilFullStack(0.1, { extend: () => answerIpcQuestions() });
