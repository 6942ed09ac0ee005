import { rmSync } from 'fs';
import { dirname } from 'path';
import { stateFile } from './harness/state';

/** Removes the synthesized manifests and the pods' volumes of this run. */
export default function globalTeardown(): void {
  const file = stateFile();
  if (file) rmSync(dirname(file), { recursive: true, force: true });
}
