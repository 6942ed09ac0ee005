/** The external images a Dockerfile builds FROM (stage names and `scratch` excluded), with ARG defaults applied. */
export function baseImages(dockerfile: string): string[] {
  const args = new Map<string, string>();
  const stages = new Set<string>();
  const images: string[] = [];
  let seenFrom = false;
  for (const line of logicalLines(dockerfile)) {
    const [instruction, ...rest] = line.split(/\s+/);
    const keyword = instruction.toUpperCase();
    if (keyword === 'ARG' && !seenFrom) {
      const declaration = rest.join(' ');
      const equals = declaration.indexOf('=');
      if (equals > 0) args.set(declaration.slice(0, equals), unquote(declaration.slice(equals + 1)));
    } else if (keyword === 'FROM') {
      seenFrom = true;
      const words = rest.filter((word) => !word.startsWith('--'));
      const image = words[0].replace(/\$\{?(\w+)\}?/g, (_, name: string) => args.get(name) ?? '');
      if (image !== 'scratch' && !stages.has(image.toLowerCase()) && !images.includes(image)) images.push(image);
      if (words[1]?.toUpperCase() === 'AS' && words[2]) stages.add(words[2].toLowerCase());
    }
  }
  return images;
}

/** The Node.js major of an official `node` image tag (`node:22-bookworm-slim` gives 22), or undefined. */
export function nodeMajor(image: string): number | undefined {
  const match = /^(?:docker\.io\/)?(?:library\/)?node:(\d+)(?:[.-]|$)/.exec(image);
  return match ? Number(match[1]) : undefined;
}

/** Joins backslash continuations and drops comments and blank lines. */
function logicalLines(text: string): string[] {
  return text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

function unquote(value: string): string {
  return value.replace(/^(["'])(.*)\1$/, '$2');
}
