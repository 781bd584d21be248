import { describe, expect, it } from 'vitest';
import { formatCount, ProgressBar, render } from '../../../functions/cli/journal-progress.ts';

class FakeTerminal {
  text = '';
  constructor(readonly isTTY: boolean) {}
  write(chunk: string) {
    this.text += chunk;
    return true;
  }
}

describe('journal progress bar', () => {
  it('renders count/total, a bar, the percentage and the rate', () => {
    expect(render('verify', 1_200, 3_000, 2_000)).toBe(
      'verify [██████████░░░░░░░░░░░░░░] 1,200/3,000  40%  600/s',
    );
    expect(render('export', 5, 0, 0)).toBe('export [████████████████████████] 5/0 100%  0/s');
  });

  it('draws on a terminal at most every 100 ms, then clears its line', () => {
    let now = 0;
    const terminal = new FakeTerminal(true);
    const bar = new ProgressBar(terminal, 'verify', 300, () => now);

    now = 150;
    bar.tick(100);
    now = 160;
    bar.tick(100); // too soon: not drawn
    now = 300;
    bar.tick(100); // the end is always drawn
    bar.finish();

    const draws = terminal.text.split('\r').filter(Boolean);
    expect(draws).toEqual([
      expect.stringContaining('100/300  33%  667/s'),
      expect.stringContaining('300/300 100%  1,000/s'),
      '\x1b[K',
    ]);
  });

  it('stays quiet when stderr is not a terminal', () => {
    const pipe = new FakeTerminal(false);
    const bar = new ProgressBar(pipe, 'verify', 10);
    bar.tick(10);
    bar.finish();
    expect(pipe.text).toBe('');
  });

  it('groups thousands', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(999)).toBe('999');
    expect(formatCount(1_234_567)).toBe('1,234,567');
  });
});
