import { log } from '#http/logger.ts';
import type { JournalPublisher } from '#store/journal-publisher.ts';

export interface RunningIntegrator {
  /**
   * Resolves after an integration round that started after this call, then a signing round
   * and a search-index pass that started after it (tests wait on it).
   */
  caughtUp(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The local stand-in for the cloud's stream-triggered integrator (which runs
 * integrateAndPublish once per batch), as a pipeline of three loops so that no stage waits for
 * the next: integration (the orphan sweep, then the Merkle tree), signing a checkpoint of the
 * integrated tree, and search indexing up to the newest checkpoint. The first two go again at
 * once after a round that did work; otherwise, and the indexer always, wait `intervalMs`, the
 * signer only until the integrator has integrated something new. Rounds of each loop never
 * overlap; a failing round is logged and retried on the next tick, as a stream retry would.
 * Integrating the next entries while the last are signed is safe: a checkpoint signs the tree
 * state it read, whose nodes were written before it.
 */
export function startJournalIntegrator(publisher: JournalPublisher, intervalMs = 50): RunningIntegrator {
  const { journal, tree, checkpoints, signer, origin, search } = publisher;
  let integratedSize = 0;
  let signedSize = 0;
  const signing = repeat('journal-signer', intervalMs, async () => {
    const before = signedSize;
    signedSize = (await checkpoints.publishCheckpoint(signer, origin)).size;
    return signedSize > before;
  });
  const integrator = repeat('journal-integrator', intervalMs, async () => {
    await journal.sweepPending();
    const before = integratedSize;
    integratedSize = (await tree.integrateAll()).size;
    // An idle signer would only notice after its interval: wake it now.
    if (integratedSize > before) signing.wake();
    return integratedSize > before;
  });
  // Search may lag a little; it does not compete for the machine by going again at once.
  const indexer = search
    ? repeat('journal-indexer', intervalMs, async () => {
        await search.indexThrough(signedSize);
        return false;
      })
    : undefined;
  return {
    caughtUp: async () => {
      await integrator.next();
      await signing.next();
      await indexer?.next();
    },
    stop: async () => {
      await Promise.all([integrator.stop(), signing.stop(), indexer?.stop()]);
    },
  };
}

/**
 * `round` again as soon as it ends when it did work (returned true), else after `intervalMs`;
 * its failures logged.
 */
function repeat(component: string, intervalMs: number, round: () => Promise<boolean>) {
  let stopped = false;
  let waiters: (() => void)[] = [];
  let running = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  const tick = () => {
    const woken = waiters;
    waiters = [];
    let busy = false;
    running = round()
      .then((didWork) => {
        busy = didWork;
      })
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
        if (!stopped) {
          timer = setTimeout(
            () => {
              timer = undefined;
              tick();
            },
            busy ? 0 : intervalMs,
          );
        }
      });
  };
  tick();

  return {
    /** Resolves after a full round that started after this call. */
    next: () => new Promise<void>((resolve) => waiters.push(resolve)),
    /** Starts the next round now if the loop is waiting out its interval. */
    wake: () => {
      if (stopped || timer === undefined) return;
      clearTimeout(timer);
      timer = undefined;
      tick();
    },
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
      for (const wake of waiters) wake();
    },
  };
}
