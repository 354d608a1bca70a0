// Readiness probe for scripts/infra/ferretdb.sh: connects with the official MongoDB driver
// (resolved through NODE_PATH) and runs `ping`. Exits 0 only if the server answered.
//   node ferretdb-ping.cjs MONGODB_URI [--info]
// With --info it prints one line: server version, wire versions and FerretDB's own version.
'use strict';

const { MongoClient } = require('mongodb');

async function main() {
  const [uri, flag] = process.argv.slice(2);
  if (!uri) throw new Error('usage: ferretdb-ping.cjs MONGODB_URI [--info]');
  const client = new MongoClient(uri, {
    serverSelectionTimeoutMS: 2000,
    connectTimeoutMS: 2000,
    socketTimeoutMS: 5000,
  });
  try {
    await client.connect();
    const admin = client.db('admin');
    const ping = await admin.command({ ping: 1 });
    if (ping.ok !== 1) throw new Error(`ping answered ${JSON.stringify(ping)}`);
    if (flag === '--info') {
      const hello = await admin.command({ hello: 1 });
      const build = await admin.command({ buildInfo: 1 });
      const ferret = build.ferretdbVersion ? ` ferretdb=${build.ferretdbVersion}` : '';
      console.log(
        `version=${build.version} wire=${hello.minWireVersion}..${hello.maxWireVersion}${ferret}`,
      );
    }
  } finally {
    await client.close();
  }
}

main().catch((err) => {
  console.error(`ping failed: ${err && err.message ? err.message : err}`);
  process.exit(1);
});
