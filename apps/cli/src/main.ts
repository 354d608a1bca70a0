import { ApiKeyStore } from '@herald/auth';
import { ConfigError, loadCliConfig } from '@herald/config';
import { createMongoClient, heraldDb } from '@herald/mongo';
import { KEYS_USAGE, runKeysCommand } from './keys';

/**
 * Herald's operator command line: `npm run herald -- keys create --tenant acme | list | revoke
 * <id>` (or `node dist/apps/cli/main.js keys …` where only the build is deployed). It talks to
 * the MongoDB of MONGODB_URI, like the services.
 */
async function main(args: string[]): Promise<number> {
  const [group, ...rest] = args;
  if (group !== 'keys') {
    process.stderr.write(`${KEYS_USAGE}\n`);
    return 2;
  }
  const { mongodbUri } = loadCliConfig();
  const client = await createMongoClient(mongodbUri).connect();
  try {
    return await runKeysCommand(
      rest,
      new ApiKeyStore(heraldDb(client, mongodbUri)),
      {
        out: (line) => process.stdout.write(`${line}\n`),
        err: (line) => process.stderr.write(`${line}\n`),
      },
      Date.now(),
    );
  } finally {
    await client.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    const message = error instanceof ConfigError ? error.message : `herald: ${error.message}`;
    process.stderr.write(`${message}\n`);
    process.exit(1);
  },
);
