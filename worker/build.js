// Bundles the worker CLI so that it starts fast and needs no node_modules at run time.
// Used by `npm run build:worker`, the Dockerfile's build stage and the worker tests.
//
// CommonJS: Node.js 20 starts a CommonJS entry about 7 ms sooner than an ES module, and ES module
// chunks cost more again, which a one-item pod pays in full. work-queue.cjs holds the CLI; each
// broker's client library is a file of its own beside it, required on first use, so that a pod
// parses only the one its BROKER_URL names: amqplib.cjs for RabbitMQ, node-redis.cjs for Redis
// (worker/redis/node-redis.ts, the one module that imports node-redis). OpenTelemetry is
// tracing.cjs (worker/tracing/opentelemetry.ts), required only when tracing is on.
const path = require('node:path');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');
const outdir = path.join(root, 'lib', 'worker-bundle');
const outfile = path.join(outdir, 'work-queue.cjs');

/**
 * amqplib and node-redis require node:tls when they load, though only amqps:// and rediss:// URLs
 * use it, and loading it costs a one-item pod 2-3 ms: inside them, node:tls is a stand-in that
 * loads it on first use (both only call tls.connect).
 */
const lazyTls = {
  name: 'lazy-tls',
  setup(build) {
    build.onResolve({ filter: /^(node:)?tls$/ }, (args) =>
      /[\\/](amqplib|@redis)[\\/]/.test(args.importer) ? { path: 'tls', namespace: 'lazy-tls' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'lazy-tls' }, () => ({
      contents: "module.exports = { connect: (...args) => require('node:tls').connect(...args) };",
      loader: 'js',
    }));
  },
};

/** The client libraries and tracing, each bundled into a file of its own: what the CLI imports, and the file. */
const LIBRARIES = [
  { imported: /^amqplib$/, entry: () => require.resolve('amqplib'), file: 'amqplib.cjs' },
  { imported: /^\.\/node-redis$/, entry: () => path.join(__dirname, 'redis', 'node-redis.ts'), file: 'node-redis.cjs' },
  {
    imported: /^\.\/opentelemetry$/,
    entry: () => path.join(__dirname, 'tracing', 'opentelemetry.ts'),
    file: 'tracing.cjs',
  },
];

/** The CLI's imports of the libraries become requires of their files beside it. */
const librariesApart = {
  name: 'libraries-apart',
  setup(build) {
    for (const { imported, file } of LIBRARIES)
      build.onResolve({ filter: imported }, () => ({ path: `./${file}`, external: true }));
  },
};

/** How every bundle of the worker is built (and the bench's, to compare like with like): one minified CommonJS file for Node.js 20. */
const BUNDLE_SETTINGS = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
  logLevel: 'warning',
};

/** Bundles into `into` (lib/worker-bundle by default); returns the entry's path. */
async function buildWorker(into = outdir) {
  const common = { ...BUNDLE_SETTINGS, outdir: into, outExtension: { '.js': '.cjs' }, legalComments: 'linked' };
  await Promise.all([
    esbuild.build({
      ...common,
      entryPoints: { 'work-queue': path.join(__dirname, 'bin.ts') },
      plugins: [librariesApart],
    }),
    ...LIBRARIES.map(({ entry, file }) =>
      esbuild.build({ ...common, entryPoints: { [path.basename(file, '.cjs')]: entry() }, plugins: [lazyTls] }),
    ),
  ]);
  return path.join(into, path.basename(outfile));
}

module.exports = { buildWorker, outdir, outfile, BUNDLE_SETTINGS, lazyTls };

if (require.main === module) {
  buildWorker().then(
    (file) => console.log(`built ${path.relative(root, file)}`),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
