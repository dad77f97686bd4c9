import { readdirSync, readFileSync } from 'node:fs';

/** Linux's USER_HZ: /proc reports CPU time in clock ticks of 1/100 s on every platform Node supports. */
const TICKS_PER_SECOND = 100;

interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  /** user + system CPU time in ms. */
  cpuMs: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may hold spaces and parentheses: everything up to the last ')' is pid and comm.
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const fields = text.slice(close + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return { pid, ppid: Number(fields[1]), comm, cpuMs: ((utime + stime) * 1000) / TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

function allStats(): ProcStat[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .flatMap((name) => readStat(Number(name)) ?? []);
}

/** A component's processes: a root pid and its descendants, or every process of a name (PostgreSQL's backends). */
export type ProcessSelector = { rootPid: number } | { comm: string };

function select(stats: ProcStat[], selector: ProcessSelector): ProcStat[] {
  if ('comm' in selector) return stats.filter((s) => s.comm === selector.comm);
  const chosen = new Set([selector.rootPid]);
  let before = 0;
  while (chosen.size !== before) {
    before = chosen.size;
    for (const s of stats) if (chosen.has(s.ppid)) chosen.add(s.pid);
  }
  return stats.filter((s) => chosen.has(s.pid));
}

/** CPU in ms of each component's processes, by pid. */
export type CpuReading = Record<string, Record<number, number>>;

/**
 * CPU of each component from /proc, per process, so that a delta is taken process by process: a
 * PostgreSQL backend or autovacuum worker that exits between two readings takes only its own CPU
 * with it (the figure is a floor for those), instead of pulling the whole component's sum below
 * where it started.
 */
function cpuMsOf(components: Record<string, ProcessSelector>): CpuReading {
  const stats = allStats();
  return Object.fromEntries(
    Object.entries(components).map(([name, selector]) => [name, Object.fromEntries(select(stats, selector).map((s) => [s.pid, s.cpuMs]))]),
  );
}

/**
 * Reads `components` now (`first`) and every `intervalMs` until stopped, and returns each process's
 * last reading, the ones that exited meanwhile included: pgbench's backends, for one, are gone by
 * the time it returns.
 */
export function trackCpu(components: () => Record<string, ProcessSelector>, intervalMs = 250): { first: CpuReading; stop(): CpuReading } {
  const first = cpuMsOf(components());
  const seen: CpuReading = structuredClone(first);
  const read = () => {
    for (const [name, pids] of Object.entries(cpuMsOf(components()))) Object.assign((seen[name] ??= {}), pids);
  };
  const timer = setInterval(read, intervalMs);
  return {
    first,
    stop() {
      clearInterval(timer);
      read();
      return seen;
    },
  };
}

/** CPU spent between two readings, per component: a process born in between counts from zero. */
export function cpuDelta(before: CpuReading, after: CpuReading): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after).map(([name, pids]) => [
      name,
      Object.entries(pids).reduce((sum, [pid, ms]) => sum + Math.max(0, ms - (before[name]?.[Number(pid)] ?? 0)), 0),
    ]),
  );
}

/** Resident memory of the process itself (not its helpers, such as tsx's esbuild), in MB. */
export function rssMb(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** This process's own CPU (the load generator), in ms. */
export function selfCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** The whole machine's CPU time so far, all cores summed, from the first line of /proc/stat. */
export interface MachineCpu {
  /** Time the hypervisor ran something else while this machine's vCPUs had work. */
  stealMs: number;
  idleMs: number;
  totalMs: number;
}

export function machineCpu(): MachineCpu {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
  // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already in user.
  const ticks = fields.slice(0, 8).map(Number);
  const ms = (t: number) => (t * 1000) / TICKS_PER_SECOND;
  return { stealMs: ms(ticks[7]!), idleMs: ms(ticks[3]! + ticks[4]!), totalMs: ms(ticks.reduce((a, b) => a + b, 0)) };
}
