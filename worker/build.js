// Bundles the worker CLI so that it starts fast and needs no node_modules at run time.
// Used by `npm run build:worker`, the Dockerfile's build stage and the worker tests.
//
// CommonJS: Node.js 20 starts a CommonJS entry about 7 ms sooner than an ES module, and ES module
// chunks cost more again, which a one-item pod pays in full. work-queue.cjs holds the CLI and our
// own clients, each evaluated only when BROKER_URL names that broker and the command needs it
// (esbuild turns dynamic imports into lazy initialisers): for Redis our RESP client
// (worker/redis/resp-client.ts), for RabbitMQ our AMQP client (worker/amqp/wire/) for `work`.
// amqplib, for `seed` and `status` on RabbitMQ, is amqplib.cjs beside it.
const path = require('node:path');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');
const outdir = path.join(root, 'lib', 'worker-bundle');
const outfile = path.join(outdir, 'work-queue.cjs');

/**
 * amqplib requires node:tls when it loads, though only amqps:// URLs use it, and loading it costs
 * a one-item pod 2-3 ms: inside amqplib, node:tls is a stand-in that loads it on first use.
 */
const lazyTlsInAmqplib = {
  name: 'lazy-tls-in-amqplib',
  setup(build) {
    build.onResolve({ filter: /^(node:)?tls$/ }, (args) => (/[\\/]amqplib[\\/]/.test(args.importer) ? { path: 'tls', namespace: 'lazy-tls' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'lazy-tls' }, () => ({
      contents: "module.exports = { connect: (...args) => require('node:tls').connect(...args) };",
      loader: 'js',
    }));
  },
};

/**
 * amqplib, which only `seed` and `status` use on RabbitMQ, is a file of its own beside the CLI
 * (amqplib.cjs), required on first use: every other pod skips parsing its 120 KB.
 */
const AMQPLIB_FILE = 'amqplib.cjs';
const amqplibApart = {
  name: 'amqplib-apart',
  setup(build) {
    build.onResolve({ filter: /^amqplib$/ }, () => ({ path: `./${AMQPLIB_FILE}`, external: true }));
  },
};

/** Bundles into `into` (lib/worker-bundle by default); returns the entry's path. */
async function buildWorker(into = outdir) {
  const common = {
    outdir: into,
    outExtension: { '.js': '.cjs' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    legalComments: 'linked',
    logLevel: 'warning',
  };
  await esbuild.build({ ...common, entryPoints: { 'work-queue': path.join(__dirname, 'bin.ts') }, plugins: [amqplibApart] });
  await esbuild.build({ ...common, entryPoints: { [path.basename(AMQPLIB_FILE, '.cjs')]: require.resolve('amqplib') }, plugins: [lazyTlsInAmqplib] });
  return path.join(into, path.basename(outfile));
}

module.exports = { buildWorker, outdir, outfile };

if (require.main === module) {
  buildWorker().then(
    (file) => console.log(`built ${path.relative(root, file)}`),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
