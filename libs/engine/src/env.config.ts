import type { z } from 'zod';

/**
 * Parses a process's environment with its zod schema once, listing every bad variable together
 * (`invalid <what> configuration:` then `NAME="value": problem` per line).
 */
export function parseEnvironment<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv, what: string): z.infer<S> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `  ${i.path.join('.')}=${JSON.stringify(env[String(i.path[0])])}: ${i.message}`);
  throw new Error(`invalid ${what} configuration:\n${problems.join('\n')}`);
}

/** A comma-separated variable as a list, blanks dropped. */
export function listOf(value: string): string[] {
  return value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}
