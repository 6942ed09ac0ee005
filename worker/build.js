// Bundles the worker CLI into one file that starts fast and needs no node_modules at run time.
// Used by `npm run build:worker`, the Dockerfile's build stage and the worker tests.
const path = require('node:path');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');
const outfile = path.join(root, 'lib', 'worker', 'work-queue.js');

async function buildWorker() {
  await esbuild.build({
    entryPoints: [path.join(__dirname, 'cli.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    legalComments: 'linked',
    logLevel: 'warning',
  });
  return outfile;
}

module.exports = { buildWorker, outfile };

if (require.main === module) {
  buildWorker().then(
    (file) => console.log(`built ${path.relative(root, file)}`),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
