// Makes the packages' bin files executable after `tsc -b`, which writes new files without the
// executable bit: npm sets it when it links a bin, but in a fresh clone the file does not exist yet.
import { chmodSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

for (const dir of readdirSync('packages')) {
  const manifest = join('packages', dir, 'package.json');
  if (!existsSync(manifest)) continue;
  const { bin } = JSON.parse(readFileSync(manifest, 'utf8'));
  for (const file of Object.values(typeof bin === 'string' ? { bin } : (bin ?? {}))) {
    const path = join('packages', dir, file);
    if (existsSync(path)) chmodSync(path, 0o755);
  }
}
