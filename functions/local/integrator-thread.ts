import { Worker } from 'node:worker_threads';
import type { RunningIntegrator } from './journal-integrator.ts';

// The worker runs TypeScript as the server does: tsx registers its loader in the new thread
// (a Worker does not take `--import` hooks from its parent).
const BOOT = `
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';
register();
await import(workerData.entry);
`;

/**
 * Runs the local journal integrator (journal-integrator.ts) on a thread of its own, as the
 * cloud runs it in a Lambda of its own: on the server's event loop, under full load, its rounds
 * queued behind request handling and the integration delay grew with the claim rate. Resolves
 * once the thread has started its loops.
 */
export async function startIntegratorThread(options: {
  stateDir: string;
  origin: string;
}): Promise<RunningIntegrator> {
  const worker = new Worker(BOOT, {
    eval: true,
    workerData: { ...options, entry: new URL('./integrator-worker.ts', import.meta.url).href },
  });
  const waiting = new Map<number, () => void>();
  let failure: Error | undefined;
  worker.on('message', ({ id }: { id: number }) => {
    waiting.get(id)?.();
    waiting.delete(id);
  });
  const fail = (error: Error) => {
    failure ??= error;
    for (const settle of waiting.values()) settle();
    waiting.clear();
  };
  worker.on('error', fail);
  // An exit nobody asked for (the thread crashed) fails whoever waits, instead of hanging them.
  worker.on('exit', (code) => fail(new Error(`the journal integrator thread exited (code ${code})`)));
  let next = 0;
  const request = (type: 'caughtUp' | 'stop' | 'started') =>
    new Promise<void>((resolve, reject) => {
      const id = type === 'started' ? 0 : ++next;
      if (failure) {
        reject(failure);
        return;
      }
      waiting.set(id, () => (failure ? reject(failure) : resolve()));
      if (type !== 'started') worker.postMessage({ id, type });
    });
  await request('started');
  return {
    caughtUp: () => request('caughtUp'),
    stop: async () => {
      await request('stop');
      await worker.terminate();
    },
  };
}
