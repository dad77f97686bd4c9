import { databaseUrl, migrate } from './data-source.js';
import { reset, seed } from './seed.js';

const USAGE = 'usage: tsx db/cli.ts <migrate|seed|reset>';

/** Never print credentials that DATABASE_URL may carry. */
function describe(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || 5432}${u.pathname}`;
}

async function main(command: string | undefined): Promise<void> {
  const url = databaseUrl();
  switch (command) {
    case 'migrate': {
      const applied = await migrate(url);
      console.log(`migrate ${describe(url)}: ${applied.length ? `applied ${applied.join(', ')}` : 'schema up to date'}`);
      return;
    }
    case 'seed': {
      const result = await seed(url);
      console.log(`seed ${describe(url)}: ${result.inserted} variants inserted, ${result.updated} updated`);
      return;
    }
    case 'reset': {
      const result = await reset(url);
      console.log(
        `reset ${describe(url)}: ${result.ordersDeleted} demo orders and ${result.eventsDeleted} outbox events deleted, ` +
          `${result.inserted} variants inserted, ${result.updated} restored`,
      );
      return;
    }
    default:
      console.error(USAGE);
      process.exitCode = 64;
  }
}

main(process.argv[2]).catch((err: unknown) => {
  console.error(`db ${process.argv[2] ?? ''} failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
