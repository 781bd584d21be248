import { describe, expect, it } from 'vitest';
import { keyedSerializer } from '../../../functions/claims/keyed-serializer.ts';

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe('keyedSerializer', () => {
  it('runs one key’s tasks in arrival order, never two at once, while other keys proceed', async () => {
    const serialize = keyedSerializer();
    const log: string[] = [];
    let running = 0;
    const task = (key: string, n: number) =>
      serialize(key, async () => {
        running++;
        if (key === 'a') expect(running).toBeLessThanOrEqual(2); // one 'a' plus at most one 'b'
        log.push(`${key}${n}+`);
        await tick();
        log.push(`${key}${n}-`);
        running--;
        return n;
      });
    const results = await Promise.all([task('a', 1), task('a', 2), task('b', 1), task('a', 3)]);
    expect(results).toEqual([1, 2, 1, 3]);
    const a = log.filter((e) => e.startsWith('a'));
    expect(a).toEqual(['a1+', 'a1-', 'a2+', 'a2-', 'a3+', 'a3-']);
    expect(log.indexOf('b1+')).toBeLessThan(log.indexOf('a1-')); // b did not wait for a
  });

  it('keeps going after a failed task, and reports the failure to its caller only', async () => {
    const serialize = keyedSerializer();
    const failing = serialize('k', async () => {
      throw new Error('boom');
    });
    const next = serialize('k', async () => 'ok');
    await expect(failing).rejects.toThrow('boom');
    await expect(next).resolves.toBe('ok');
  });
});
