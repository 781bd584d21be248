/** Runs tasks one at a time per key; tasks of different keys run concurrently. */
export type KeyedSerializer = <T>(key: string, task: () => Promise<T>) => Promise<T>;

/**
 * A per-key queue for one process. Claims for the same member contend for the same accumulator
 * item; deciding them one after another inside a process avoids a storm of lost conditional
 * writes (each retry re-reads and re-evaluates), while the conditional write still arbitrates
 * between processes.
 */
export function keyedSerializer(): KeyedSerializer {
  const tails = new Map<string, Promise<unknown>>();
  return (key, task) => {
    const previous = tails.get(key) ?? Promise.resolve();
    const run = previous.then(task, task);
    const tail = run.catch(() => undefined);
    tails.set(key, tail);
    // Forget the key once its queue drains, so the map does not grow with every member seen.
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return run;
  };
}
