import { log } from '#http/logger.ts';
import { integrateAndPublish, type JournalPublisher } from '#store/journal-publisher.ts';

export interface RunningIntegrator {
  /** Resolves after a full round that started after this call (tests wait on it). */
  caughtUp(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The local stand-in for the cloud's stream-triggered integrator: a round every `intervalMs`
 * (integrate, then sign a checkpoint when the tree grew). Rounds never overlap; a failing
 * round is logged and retried on the next tick, as a stream retry would.
 */
export function startJournalIntegrator(publisher: JournalPublisher, intervalMs = 50): RunningIntegrator {
  let stopped = false;
  let waiters: (() => void)[] = [];
  let round = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  const tick = () => {
    const woken = waiters;
    waiters = [];
    round = integrateAndPublish(publisher)
      .then(() => undefined)
      .catch((error: unknown) => {
        // The journal's own integrity errors name indices and sizes only, never entry content.
        const ours = error instanceof Error && /^(Journal|Inconsistent)/.test(error.name);
        log('error', {
          component: 'journal-integrator',
          error: error instanceof Error ? error.name : 'unknown',
          ...(ours ? { message: error.message } : {}),
        });
      })
      .finally(() => {
        for (const wake of woken) wake();
        if (!stopped) timer = setTimeout(tick, intervalMs);
      });
  };
  tick();

  return {
    caughtUp: () => new Promise<void>((resolve) => waiters.push(resolve)),
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await round;
      for (const wake of waiters) wake();
    },
  };
}
