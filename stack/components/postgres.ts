import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { isAlive, runSync, stopPid, which } from '../proc.js';
import { hostPort, paths, withoutCredentials, type Settings } from '../settings.js';
import type { Component } from './types.js';

/** Debian installs the server binaries off PATH, one folder per major version; the newest wins. */
function postgresBinDir(): string | undefined {
  const onPath = which('initdb');
  if (onPath) return path.dirname(onPath);
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], 'bin') : undefined;
}

/** initdb and postgres refuse to run as root: as root, the server runs as the `postgres` account. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) {
    throw new Error('PostgreSQL cannot run as root and there is no `postgres` account: run the stack as another user');
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

async function answers(url: string): Promise<boolean> {
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 1500 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The PostgreSQL at DATABASE_URL's host and port. When none answers there and the server binaries
 * are installed, a private cluster under `.stack/postgres` is created and served on that port.
 */
export function postgresComponent(settings: Settings): Component {
  const dir = paths(settings).postgres;
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(paths(settings).logs, 'postgres.log');
  const { host, port } = hostPort(settings.databaseUrl, 5432);

  const asServerUser = (command: string, args: string[]): [string, string[]] => {
    const user = serverUser();
    return user ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
  };

  const binary = (name: string): string => {
    const bin = postgresBinDir();
    if (!bin) {
      throw new Error(
        `no PostgreSQL answers at ${host}:${port} and no PostgreSQL server is installed: ` +
          'install PostgreSQL 15+ (Debian: apt-get install postgresql) or point DATABASE_URL at a running server',
      );
    }
    return path.join(bin, name);
  };

  const postmasterPid = (): number | undefined => {
    const file = path.join(dataDir, 'postmaster.pid');
    if (!existsSync(file)) return undefined;
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
  };

  return {
    name: 'postgres',
    url: withoutCredentials(settings.databaseUrl),
    logFile,
    deadlineMs: 60_000,
    ready: () => answers(settings.databaseUrl),
    pid: postmasterPid,
    async prepare() {
      const initdb = binary('initdb');
      if (existsSync(path.join(dataDir, 'PG_VERSION'))) return;
      mkdirSync(dataDir, { recursive: true });
      mkdirSync(path.dirname(logFile), { recursive: true });
      if (!existsSync(logFile)) writeFileSync(logFile, '');
      const user = serverUser();
      if (user) for (const p of [dir, dataDir, logFile]) chownSync(p, user.uid, user.gid);
      const [cmd, args] = asServerUser(initdb, ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C']);
      runSync(cmd, args, { what: 'initdb', timeout: 120_000 });
    },
    async start() {
      const [cmd, args] = asServerUser(binary('pg_ctl'), [
        '-D',
        dataDir,
        '-l',
        logFile,
        '-o',
        `-p ${port} -k ${dir} -c listen_addresses=${host}`,
        '-w',
        '-t',
        '60',
        'start',
      ]);
      runSync(cmd, args, { what: 'pg_ctl start', timeout: 90_000 });
      const pid = postmasterPid();
      if (!pid) throw new Error('pg_ctl reported a start but no postmaster runs');
      return pid;
    },
    async stop() {
      const pid = postmasterPid();
      if (!pid) return;
      // SIGINT is PostgreSQL's "fast" shutdown: open sessions are ended, data is flushed cleanly.
      process.kill(pid, 'SIGINT');
      await stopPid(pid, 30_000);
    },
  };
}
