#!/usr/bin/env node
// The vigil command: runs the built CLI. Committed, not built, so that npm links the command when
// it installs the repository, which happens before the first build creates dist/.
'use strict';

const { existsSync } = require('node:fs');
const { join } = require('node:path');

const cli = join(__dirname, '..', 'dist', 'cli', 'main.js');
if (!existsSync(cli)) {
  process.stderr.write(
    `vigil: the vigil package is not built (${cli} is missing). ` +
      'In the Vigil repository, run `npm run build` at its root first.\n',
  );
  // 2: the CLI's status for a usage or load error.
  process.exitCode = 2;
} else {
  require(cli)
    .main(
      process.argv.slice(2),
      (line) => process.stdout.write(`${line}\n`),
      (line) => process.stderr.write(`${line}\n`),
    )
    .then(
      (status) => {
        process.exitCode = status;
      },
      (error) => {
        process.stderr.write(`vigil: ${error && error.stack ? error.stack : String(error)}\n`);
        process.exitCode = 2;
      },
    );
}
