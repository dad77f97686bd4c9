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

/**
 * CPU of each component from /proc, summed over its processes. A backend that exits between two
 * readings takes its CPU with it, so PostgreSQL's figure is a floor under short-lived connections
 * (the services and pgbench keep theirs open).
 */
export function cpuMsOf(components: Record<string, ProcessSelector>): Record<string, number> {
  const stats = allStats();
  return Object.fromEntries(Object.entries(components).map(([name, selector]) => [name, select(stats, selector).reduce((sum, s) => sum + s.cpuMs, 0)]));
}

export function cpuDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.keys(after).map((name) => [name, Math.max(0, after[name]! - (before[name] ?? 0))]));
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
