// `npm start`: runs the reference app until SIGINT or SIGTERM.
import { startReferenceApp } from './index';

async function main(): Promise<void> {
  const app = await startReferenceApp();
  console.log(`gateway  ${app.gatewayUrl}   (try ${app.gatewayUrl}/api/videos/1)`);
  console.log(`catalog  ${app.catalogUrl}`);
  console.log(`metrics  ${app.gatewayUrl}/metrics  and  ${app.catalogUrl}/metrics`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: shutting down`);
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
