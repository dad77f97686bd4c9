import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { runningPid, startDetached, stopPid, which } from '../proc.js';
import { hostPort, paths, REPO_ROOT, withoutCredentials, type Settings } from '../settings.js';
import { redisPing } from '../wait.js';
import type { Component } from './types.js';

/** The Redis at REDIS_URL; when none answers there, a private redis-server that keeps nothing on disk. */
export function redisComponent(settings: Settings): Component {
  const { host, port } = hostPort(settings.redisUrl, 6379);
  const dir = paths(settings).redis;
  const pidFile = path.join(paths(settings).pids, 'redis.pid');
  const logFile = path.join(paths(settings).logs, 'redis.log');
  const marker = 'redis-server';

  return {
    name: 'redis',
    url: withoutCredentials(settings.redisUrl),
    logFile,
    deadlineMs: 15_000,
    ready: () => redisPing(host, port),
    pid: () => runningPid(pidFile, marker),
    async prepare() {
      if (!which('redis-server')) {
        throw new Error(
          `no Redis answers at ${host}:${port} and redis-server is not installed: ` +
            'install Redis 7 (Debian: apt-get install redis-server) or point REDIS_URL at a running server',
        );
      }
      mkdirSync(dir, { recursive: true });
    },
    async start() {
      return startDetached({
        name: 'redis',
        command: which('redis-server')!,
        args: ['--port', String(port), '--bind', host, '--save', '', '--appendonly', 'no', '--dir', dir],
        cwd: REPO_ROOT,
        env: process.env,
        logFile,
        pidFile,
      });
    },
    async stop() {
      const pid = runningPid(pidFile, marker);
      if (pid) await stopPid(pid, 10_000);
    },
  };
}
