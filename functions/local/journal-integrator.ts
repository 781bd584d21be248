import { log } from '#http/logger.ts';
import { integrateAndPublish, type JournalPublisher } from '#store/journal-publisher.ts';

export interface RunningIntegrator {
  /**
   * Resolves after an integration round that started after this call, and a search-index pass
   * that started after that round (tests wait on it).
   */
  caughtUp(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The local stand-in for the cloud's stream-triggered integrator: a round every `intervalMs`
 * (integrate, then sign a checkpoint when the tree grew). Search indexing runs in a loop of its
 * own, up to the newest signed checkpoint, so that a slow indexing pass never delays the next
 * checkpoint (integration delay). Rounds of each loop never overlap; a failing round is logged
 * and retried on the next tick, as a stream retry would.
 */
export function startJournalIntegrator(publisher: JournalPublisher, intervalMs = 50): RunningIntegrator {
  const { search, ...integration } = publisher;
  let signedSize = 0;
  const integrator = repeat('journal-integrator', intervalMs, async () => {
    signedSize = (await integrateAndPublish(integration)).size;
  });
  const indexer = search
    ? repeat('journal-indexer', intervalMs, async () => {
        await search.indexThrough(signedSize);
      })
    : undefined;
  return {
    caughtUp: async () => {
      await integrator.next();
      await indexer?.next();
    },
    stop: async () => {
      await Promise.all([integrator.stop(), indexer?.stop()]);
    },
  };
}

/** `round` every `intervalMs` after the previous one ends, with its failures logged. */
function repeat(component: string, intervalMs: number, round: () => Promise<void>) {
  let stopped = false;
  let waiters: (() => void)[] = [];
  let running = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  const tick = () => {
    const woken = waiters;
    waiters = [];
    running = round()
      .catch((error: unknown) => {
        // The journal's own integrity errors name indices and sizes only, never entry content.
        const ours = error instanceof Error && /^(Journal|Inconsistent)/.test(error.name);
        log('error', {
          component,
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
    /** Resolves after a full round that started after this call. */
    next: () => new Promise<void>((resolve) => waiters.push(resolve)),
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
      for (const wake of waiters) wake();
    },
  };
}
