// A --require hook of the tests (through NODE_OPTIONS): records every file the process loads as
// a module, CommonJS and what import() loads as CommonJS alike, and writes the list, one per line,
// at exit into the file WQ_TEST_LOADED_FILES names.
const Module = require('node:module');
const fs = require('node:fs');

const load = Module.prototype.load;
const files = [];
Module.prototype.load = function (filename, ...rest) {
  files.push(filename);
  return load.call(this, filename, ...rest);
};
process.on('exit', () => fs.writeFileSync(process.env.WQ_TEST_LOADED_FILES, files.join('\n')));
