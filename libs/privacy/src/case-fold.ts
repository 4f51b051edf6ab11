/**
 * Rewrites inline case-insensitive groups `(?i:…)` of a regular-expression source into plain groups
 * whose ASCII letters are explicit classes: `(?i:ab|cd)` → `(?:[aA][bB]|[cC][dD])`.
 *
 * Why: V8 (Node 24) loses the `i` modifier of an alternation inside `(?i:…)` when it compiles a
 * regex without its regexp optimisation pass: `/(?i:ax|by)/.exec('Ax')` is null then. V8 turns that
 * pass off by itself once a process has generated a lot of regexp code (a long-lived Jest worker, a
 * busy service), so the same pattern matched or not depending on what ran before: the detector's
 * context cues ("Date of birth", "SSN", "Dear") failed that way in CI. Explicit classes mean the
 * same thing and compile the same with and without the optimisation.
 *
 * Only the syntax the built-in patterns use is accepted inside `(?i:…)`: literals, escapes, groups,
 * quantifiers and character classes without letters. Anything else throws at module load, so a new
 * pattern cannot silently reintroduce the problem.
 */
export function foldInlineCase(source: string): string {
  let out = '';
  // One entry per open group: whether it is case-insensitive.
  const groups: boolean[] = [];
  const caseless = () => groups.length > 0 && groups[groups.length - 1]!;
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (c === '\\') {
      const end = escapeEnd(source, i);
      out += source.slice(i, end);
      i = end;
      continue;
    }
    if (c === '[') {
      const end = classEnd(source, i);
      const body = source.slice(i, end);
      if (caseless() && /[A-Za-z]/.test(body.replace(/\\(?:[pPk]\{[^}]*\}|.)/g, '')))
        throw new Error(
          `foldInlineCase: a character class with letters inside (?i:…) is not supported: ${body}`,
        );
      out += body;
      i = end;
      continue;
    }
    if (c === '(') {
      if (source.startsWith('(?i:', i)) {
        groups.push(true);
        out += '(?:';
        i += 4;
        continue;
      }
      const inherited = caseless();
      groups.push(inherited);
      // Group syntax is copied as is: (?:  (?=  (?!  (?<=  (?<!  (?<name>
      const named = /^\(\?<([A-Za-z_$][\w$]*)>/.exec(source.slice(i));
      if (named) {
        out += named[0];
        i += named[0].length;
        continue;
      }
      const plain = /^\((?:\?(?::|=|!|<=|<!))?/.exec(source.slice(i))![0];
      if (plain === '(' && source[i + 1] === '?')
        throw new Error(`foldInlineCase: unsupported group syntax at ${i}: ${source.slice(i, i + 6)}`);
      out += plain;
      i += plain.length;
      continue;
    }
    if (c === ')') {
      groups.pop();
      out += c;
      i++;
      continue;
    }
    if (caseless() && /[A-Za-z]/.test(c)) {
      out += `[${c.toLowerCase()}${c.toUpperCase()}]`;
      i++;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

/** The end (exclusive) of the escape starting at `source[i] === '\\'`. */
function escapeEnd(source: string, i: number): number {
  const next = source[i + 1];
  if ((next === 'p' || next === 'P' || next === 'u') && source[i + 2] === '{')
    return source.indexOf('}', i) + 1;
  if (next === 'k' && source[i + 2] === '<') return source.indexOf('>', i) + 1;
  if (next === 'u') return i + 6;
  if (next === 'x') return i + 4;
  if (next === 'c') return i + 3;
  return i + 2;
}

/** The end (exclusive) of the character class starting at `source[i] === '['`. */
function classEnd(source: string, i: number): number {
  let j = i + 1;
  while (j < source.length && source[j] !== ']') j = source[j] === '\\' ? escapeEnd(source, j) : j + 1;
  return j + 1;
}
