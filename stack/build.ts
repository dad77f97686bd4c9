/**
 * `npm run build`: each service's `src/main.ts` bundled by esbuild into `dist/<service>/main.js`, and
 * the database CLI (`db/cli.ts`: migrate, seed, reset) into `dist/db/cli.js`, each with a linked
 * source map. Node then runs plain JavaScript: no tsx loader thread, no transpiling at start.
 *
 * The workspace code is bundled (`@oms/common` and the services export their TypeScript, which Node
 * cannot load); every npm package stays an import that Node resolves from node_modules at run time,
 * so a bundle holds our code only. The external packages are not listed here: they are the
 * workspaces' own `dependencies`, the ones `npm ci --omit=dev` installs in the Docker image, and
 * an import of anything else fails the build.
 */
import { build, stop, type Plugin } from 'esbuild';
import { existsSync, globSync, readFileSync, realpathSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { SERVICES, type ServiceName } from './components/types.js';
import { REPO_ROOT } from './settings.js';

export const DIST_DIR = path.join(REPO_ROOT, 'dist');

export const serviceSource = (service: ServiceName): string => path.join(REPO_ROOT, 'services', service, 'src', 'main.ts');
export const serviceBundle = (service: ServiceName): string => path.join(DIST_DIR, service, 'main.js');
export const DB_CLI_BUNDLE = path.join(DIST_DIR, 'db', 'cli.js');

const ENTRIES: ReadonlyArray<{ source: string; outfile: string }> = [
  ...SERVICES.map((service) => ({ source: serviceSource(service), outfile: serviceBundle(service) })),
  { source: path.join(REPO_ROOT, 'db', 'cli.ts'), outfile: DB_CLI_BUNDLE },
];

interface Workspaces {
  /** `@oms/common`, `@oms/order-manage-api`, …: bundled. */
  names: Set<string>;
  /** Every workspace's `dependencies`: external. */
  dependencies: Set<string>;
}

function readWorkspaces(): Workspaces {
  const root = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { workspaces: string[] };
  const names = new Set<string>();
  const dependencies = new Set<string>();
  for (const manifest of globSync(
    root.workspaces.map((w) => `${w}/package.json`),
    { cwd: REPO_ROOT },
  )) {
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, manifest), 'utf8')) as { name: string; dependencies?: Record<string, string> };
    names.add(pkg.name);
    for (const dep of Object.keys(pkg.dependencies ?? {})) dependencies.add(dep);
  }
  for (const name of names) dependencies.delete(name);
  return { names, dependencies };
}

/** `pg` for `pg`, `@scope/pkg` for `@scope/pkg/sub/path`. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return (specifier.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
}

/** The package directory Node's lookup finds from `fromDir` (node_modules of each ancestor). */
function packageDirFrom(fromDir: string, name: string): string | undefined {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (existsSync(path.join(candidate, 'package.json'))) return realpathSync(candidate);
    if (dir === path.dirname(dir)) return undefined;
  }
}

const NESTED_LOOKUP = Symbol('nested lookup');

/**
 * Bundles the workspaces, leaves Node's built-ins and the workspaces' dependencies as imports, and
 * refuses any other package. An external import must find, from the bundle's directory, the same
 * copy the source finds: when npm nested a package under one workspace (typeorm, under the
 * data-api: services/order-manage-data-api/src/db/typeorm.ts says why) the import names that copy's
 * entry file by a path relative to the bundle instead.
 */
function packagesPlugin(workspaces: Workspaces, outdir: string): Plugin {
  return {
    name: 'workspaces-bundled-packages-external',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData === NESTED_LOOKUP) return undefined;
        if (isBuiltin(args.path)) return { path: args.path, external: true };
        const name = packageName(args.path);
        if (workspaces.names.has(name)) return undefined;
        if (!workspaces.dependencies.has(name)) {
          return {
            errors: [
              {
                text: `"${name}" is no workspace's dependency: add it to the "dependencies" of the service that imports it (the Docker image installs only those)`,
              },
            ],
          };
        }
        const fromSource = packageDirFrom(args.resolveDir, name);
        if (fromSource !== undefined && fromSource === packageDirFrom(outdir, name)) return { path: args.path, external: true };
        const resolved = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: NESTED_LOOKUP });
        if (resolved.errors.length) return { errors: resolved.errors };
        const relative = path.relative(outdir, resolved.path).split(path.sep).join('/');
        return { path: relative.startsWith('.') ? relative : `./${relative}`, external: true };
      });
    },
  };
}

/** Writes next to the target and renames, so a process starting meanwhile never reads half a file. */
async function writeAtomically(file: string, contents: Uint8Array): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, contents);
    await rename(temporary, file);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
}

export interface Built {
  file: string;
  bytes: number;
}

/** Builds every bundle; about half a second. Safe to run while services run from dist/. */
export async function buildAll(): Promise<Built[]> {
  const workspaces = readWorkspaces();
  const results = await Promise.all(
    ENTRIES.map((entry) =>
      build({
        absWorkingDir: REPO_ROOT,
        entryPoints: [entry.source],
        outfile: entry.outfile,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node24',
        sourcemap: 'linked',
        plugins: [packagesPlugin(workspaces, path.dirname(entry.outfile))],
        write: false,
        logLevel: 'silent',
      }),
    ),
  );
  const files = results.flatMap((r) => r.outputFiles);
  // Maps first: a bundle is never there before the map it names.
  files.sort((a, b) => Number(a.path.endsWith('.js')) - Number(b.path.endsWith('.js')));
  for (const f of files) await writeAtomically(f.path, f.contents);
  // The bundles are ES modules wherever dist/ is copied, whatever package.json surrounds it.
  await writeAtomically(path.join(DIST_DIR, 'package.json'), new TextEncoder().encode('{ "type": "module" }\n'));
  return files.filter((f) => f.path.endsWith('.js')).map((f) => ({ file: f.path, bytes: f.contents.byteLength }));
}

let once: Promise<void> | undefined;

/** For the stack: one build per launcher process, however many services and replicas it starts. */
export function buildOnce(): Promise<void> {
  once ??= buildAll().then(
    () => stop(),
    (err: unknown) => {
      once = undefined;
      throw err;
    },
  );
  return once;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = performance.now();
  try {
    const built = await buildAll();
    for (const b of built) console.log(`${path.relative(REPO_ROOT, b.file)}  ${(b.bytes / 1024).toFixed(0)} KiB`);
    console.log(`built ${built.length} bundles in ${Math.round(performance.now() - started)} ms`);
  } catch (err) {
    // esbuild's message already lists each error with its file and line.
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  }
}
