/**
 * Training progress on stderr: a one-line bar redrawn in place (loss, steps/s, ETA) when the
 * stream is a terminal, and plain newline-terminated lines (no carriage returns, no ANSI codes)
 * when it is not — so logs and CI output stay readable.
 */

/** The part of a Node writable stream the reporter needs. */
export interface ProgressStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface ProgressOptions {
  /** Default `process.stderr`. */
  readonly stream?: ProgressStream;
  /** Force terminal (true) or plain (false) output. Default: `stream.isTTY`. */
  readonly tty?: boolean;
  /** Plain mode: print a line every this many steps (and at the last step). Default: total / 20. */
  readonly every?: number;
  /** What is counted: the plain-mode line prefix and the rate unit. Default `step` / `it/s`. */
  readonly label?: string;
  readonly unit?: string;
  /** Clock in ms (tests). Default `Date.now`. */
  readonly now?: () => number;
}

/** Formats seconds as `1h02m`, `3m05s` or `12s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(r).padStart(2, '0')}s`;
  return `${r}s`;
}

/**
 * @example
 * const p = new ProgressReporter(totalSteps);
 * p.update(step, { loss: 0.31, epoch: '1/3' });
 * p.log('epoch 1: dev F1 54.20');
 * p.done();
 */
export class ProgressReporter {
  readonly tty: boolean;
  private readonly stream: ProgressStream;
  private readonly every: number;
  private readonly now: () => number;
  private readonly start: number;
  private startStep = -1;
  private lastDraw = -Infinity;
  private drawn = false;
  private lastStep = 0;
  private readonly label: string;
  private readonly unit: string;

  constructor(
    readonly total: number,
    options: ProgressOptions = {},
  ) {
    this.stream = options.stream ?? process.stderr;
    this.tty = options.tty ?? this.stream.isTTY === true;
    this.every = Math.max(1, options.every ?? Math.ceil(total / 20));
    this.now = options.now ?? Date.now;
    this.start = this.now();
    this.label = options.label ?? 'step';
    this.unit = options.unit ?? 'it/s';
  }

  /** Reports that `step` of `total` steps are done. `fields` are printed as `key value`. */
  update(step: number, fields: Readonly<Record<string, string | number>> = {}): void {
    if (this.startStep < 0) this.startStep = step - 1; // resumed runs: rate from the first step seen
    const t = this.now();
    const done = step - this.startStep;
    const rate = done / Math.max(1e-3, (t - this.start) / 1000);
    const eta = (this.total - step) / rate;
    const text = Object.entries(fields)
      .map(([k, v]) => `${k} ${typeof v === 'number' ? formatNumber(v) : v}`)
      .join('  ');
    const tail = `${step}/${this.total}  ${text}  ${rate.toFixed(2)} ${this.unit}  eta ${formatDuration(eta)}`;
    if (this.tty) {
      if (t - this.lastDraw < 100 && step < this.total) return;
      this.lastDraw = t;
      const width = Math.max(10, Math.min(30, (this.stream.columns ?? 80) - tail.length - 4));
      const filled = Math.round((width * step) / Math.max(1, this.total));
      const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
      this.stream.write(`\r\x1b[K${bar} ${tail}`);
      this.drawn = true;
    } else if (
      step !== this.lastStep &&
      (Math.floor(step / this.every) > Math.floor(this.lastStep / this.every) || step === this.total)
    ) {
      // a line each time `step` reaches or passes a multiple of `every` (steps may jump: batches)
      this.stream.write(`${this.label} ${tail}\n`);
    }
    this.lastStep = step;
  }

  /** Prints a full line (above the bar on a terminal). */
  log(line: string): void {
    if (this.tty && this.drawn) this.stream.write('\r\x1b[K');
    this.stream.write(line + '\n');
    this.drawn = false;
  }

  /** Ends the bar line. */
  done(): void {
    if (this.tty && this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}

function formatNumber(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(4) : v.toExponential(2);
}
