import { readFile } from 'node:fs/promises';

/** A cache's JSON side file (a download's progress, an entry's record), or undefined when missing or unreadable. */
export async function readJsonFile<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}
