const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

const live = Boolean(process.stdout.isTTY) && !process.env.CI;

/**
 * The launcher's output is only a report: when its reader goes away (`npm start | tee start.log`
 * and Ctrl-C, which ends tee first; a terminal that closed), writes fail with EPIPE or EIO, and
 * Node would throw that as an uncaught 'error' and end the launcher before it stops what it started.
 * From then on the launcher writes nowhere and carries on.
 */
export function keepRunningWhenOutputCloses(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', () => undefined);
  }
}

const color = (code: number) => (text: string) => (live ? `\u001b[${code}m${text}\u001b[0m` : text);
export const green = color(32);
export const red = color(31);
export const yellow = color(33);
export const dim = color(2);
export const bold = color(1);

/**
 * One status line per component: a spinner that rewrites itself on a terminal, plain lines in CI
 * logs (where carriage returns would make a mess of the log).
 */
export class StatusLine {
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;
  private detail = '';
  private readonly started = Date.now();

  constructor(private readonly name: string) {}

  begin(detail: string): this {
    this.detail = detail;
    if (live) {
      this.render();
      this.timer = setInterval(() => this.render(), 100);
    } else {
      console.log(`  ${this.name.padEnd(22)} ${detail}`);
    }
    return this;
  }

  update(detail: string): void {
    if (detail === this.detail) return;
    this.detail = detail;
    if (!live) console.log(`  ${this.name.padEnd(22)} ${detail}`);
  }

  succeed(detail: string): void {
    this.finish(green('✔'), detail);
  }

  fail(detail: string): void {
    this.finish(red('✖'), detail);
  }

  private elapsed(): string {
    return `${((Date.now() - this.started) / 1000).toFixed(1)} s`;
  }

  private render(): void {
    // A terminal that went away: no spinner to draw any more.
    if (!process.stdout.writable) return;
    const frame = FRAMES[this.frame++ % FRAMES.length];
    process.stdout.write(`\r\u001b[2K${yellow(frame ?? '.')} ${this.name.padEnd(22)} ${this.detail} ${dim(this.elapsed())}`);
  }

  private finish(mark: string, detail: string): void {
    if (this.timer) clearInterval(this.timer);
    const line = `${mark} ${this.name.padEnd(22)} ${detail} ${dim(`(${this.elapsed()})`)}`;
    if (live) process.stdout.write(`\r\u001b[2K${line}\n`);
    else console.log(line);
  }
}

export function table(headers: string[], rows: string[][]): string {
  const plain = (s: string) => s.replace(ANSI, '');
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => plain(r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c + ' '.repeat(Math.max(0, (widths[i] ?? 0) - plain(c).length)))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
