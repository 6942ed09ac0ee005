// Builds the worker bundle once per test run: the tests spawn it as the image would run it. It goes
// to a directory of this run's own, so that a build of lib/ meanwhile (npm pack) cannot pull it away.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { buildWorker } = require('../../worker/build');

const PREFIX = 'work-queue-test-bundle-';

module.exports = async () => {
  for (const name of fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith(PREFIX))) {
    const pid = Number(name.slice(PREFIX.length));
    if (!running(pid)) fs.rmSync(path.join(os.tmpdir(), name), { recursive: true, force: true });
  }
  const dir = path.join(os.tmpdir(), `${PREFIX}${process.pid}`);
  fs.rmSync(dir, { recursive: true, force: true });
  process.env.WORK_QUEUE_TEST_CLI = await buildWorker(dir);
};

function running(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
