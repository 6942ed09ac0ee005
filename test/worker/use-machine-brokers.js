// setupFiles of the machine generation's project: its settings, unless the environment gives its own.
const { machine } = require('./generations');

for (const [name, value] of Object.entries(machine.env)) process.env[name] ??= value;
