/** `--token-file`: one token per line, blank lines and `#` comments ignored. */
import { readFileSync } from 'node:fs';
import { usageError } from '../errors.ts';

/**
 * Read a token file.
 * @returns the tokens in file order (at least one)
 * @throws WsbenchError `WSB_ERR_TOKEN_FILE` (exit 2) when the file cannot be read or holds no token
 */
export function readTokenFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw usageError('WSB_ERR_TOKEN_FILE', `cannot read --token-file ${path}: ${(e as Error).message}`);
  }
  const tokens = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  if (!tokens.length) throw usageError('WSB_ERR_TOKEN_FILE', `--token-file ${path} has no tokens`, 'put one token per line');
  return tokens;
}
