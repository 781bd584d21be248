// A one-line progress bar for long journal runs. It draws only on a terminal: piped or
// redirected stderr (CI, tests, scripts) stays quiet.

/** Where the bar is drawn: process.stderr, or a fake terminal in tests. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

const BAR_WIDTH = 24;
const REDRAW_MS = 100;

/** `count/total` with a bar, percentage and rate, redrawn at most ten times a second. */
export class ProgressBar {
  private count = 0;
  private lastDraw = 0;
  private drawn = false;
  private readonly started: number;
  private readonly enabled: boolean;

  constructor(
    private readonly stream: ProgressStream,
    private readonly label: string,
    private readonly total: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.enabled = stream.isTTY === true;
    this.started = now();
  }

  /** Counts `n` more items done. */
  tick(n = 1): void {
    this.count += n;
    if (!this.enabled) return;
    const now = this.now();
    if (now - this.lastDraw < REDRAW_MS && this.count < this.total) return;
    this.lastDraw = now;
    this.draw(now);
  }

  /** Clears the bar so the summary starts on a clean line. */
  finish(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }

  private draw(now: number): void {
    const line = render(this.label, this.count, this.total, now - this.started);
    // A terminal of unknown width (columns 0 or absent) gets 80.
    const width = this.stream.columns || 80;
    this.stream.write(`\r${line.slice(0, Math.max(0, width - 1))}\x1b[K`);
    this.drawn = true;
  }
}

/** One progress line: `label [█████░░░] 1,200/3,000  40%  8,000/s`. */
export function render(label: string, count: number, total: number, elapsedMs: number): string {
  const fraction = total > 0 ? Math.min(1, count / total) : 1;
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}`;
  const rate = elapsedMs > 0 ? (count / elapsedMs) * 1000 : 0;
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  return `${label} [${bar}] ${formatCount(count)}/${formatCount(total)} ${percent}  ${formatCount(Math.round(rate))}/s`;
}

/** 1234567 → `1,234,567`. */
export function formatCount(n: number): string {
  return Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
