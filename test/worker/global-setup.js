// Builds the worker bundle once per test run: the tests spawn it as the image would run it.
const { buildWorker } = require('../../worker/build');

module.exports = async () => {
  await buildWorker();
};
