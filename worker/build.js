// Bundles the worker CLI so that it starts fast and needs no node_modules at run time.
// Used by `npm run build:worker`, the Dockerfile's build stage and the worker tests.
//
// CommonJS: Node.js 20 starts a CommonJS entry about 7 ms sooner than an ES module, and ES module
// chunks cost more again, which a one-item pod pays in full. work-queue.cjs holds the CLI and each
// broker's client library, evaluated only when BROKER_URL names that broker (esbuild turns the
// dynamic imports of worker/open-queue.ts into lazy initialisers): node-redis for Redis, amqplib
// for RabbitMQ.
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

/** Bundles into `into` (lib/worker-bundle by default); returns the entry's path. */
async function buildWorker(into = outdir) {
  await esbuild.build({
    entryPoints: { 'work-queue': path.join(__dirname, 'bin.ts') },
    outdir: into,
    outExtension: { '.js': '.cjs' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    legalComments: 'linked',
    logLevel: 'warning',
    plugins: [lazyTlsInAmqplib],
  });
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
