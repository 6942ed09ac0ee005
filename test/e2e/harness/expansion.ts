/**
 * Kubernetes' `$(VAR)` expansion of container env values, command and args, ported from
 * kubernetes/third_party/forked/golang/expansion: `$(NAME)` becomes the value of NAME when it is
 * defined and stays as written when not; `$$` is an escaped `$`; any other `$` is kept.
 */
export function expand(input: string, lookup: (name: string) => string | undefined): string {
  let output = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== '$' || cursor + 1 >= input.length) continue;
    output += input.slice(checkpoint, cursor);
    const { text, isVariable, advance } = readVariableName(input.slice(cursor + 1));
    output += isVariable ? (lookup(text) ?? `$(${text})`) : text;
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return output + input.slice(checkpoint);
}

function readVariableName(input: string): { text: string; isVariable: boolean; advance: number } {
  if (input[0] === '$') return { text: '$', isVariable: false, advance: 1 };
  if (input[0] === '(') {
    const closer = input.indexOf(')', 1);
    if (closer > 0) return { text: input.slice(1, closer), isVariable: true, advance: closer + 1 };
    return { text: '$(', isVariable: false, advance: 1 };
  }
  return { text: `$${input[0]}`, isVariable: false, advance: 1 };
}
