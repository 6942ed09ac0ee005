// TypeDoc names an entry point's module after its file (`constructs`, `stacks/pulumi/...`); the
// reference names it after the import a user writes: the package.json export whose types are
// compiled from that file (`work-queue-stack`, `work-queue-stack/pulumi`).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Converter, ReflectionKind } from 'typedoc';

/** The source file that `lib/<path>.d.ts` is compiled from: `<path>.ts`. */
function sourceOf(declarationFile) {
  return path.posix
    .normalize(declarationFile)
    .replace(/^lib\//, '')
    .replace(/\.d\.ts$/, '.ts');
}

/** @param {import('typedoc').Application} app */
export function load(app) {
  const { name, exports } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
  const importPaths = new Map(
    Object.entries(exports)
      .filter(([, target]) => typeof target === 'object' && target.types)
      .map(([subpath, target]) => [sourceOf(target.types), path.posix.join(name, subpath)]),
  );
  app.converter.on(Converter.EVENT_CREATE_DECLARATION, (context, reflection) => {
    if (!reflection.kindOf(ReflectionKind.Module)) return;
    const file = context.project.getSymbolIdFromReflection(reflection)?.packagePath;
    const importPath = importPaths.get(file);
    if (importPath === undefined) {
      app.logger.error(
        `typedoc.json entryPoints: ${file} is the source of no package.json export; expected one of ${[...importPaths.keys()].join(', ')}`,
      );
      return;
    }
    reflection.name = importPath;
  });
}
