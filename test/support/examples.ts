import { readFileSync } from 'node:fs';
import { repoPath } from './repo';

/** Held-out rows of a committed model's golden file. */
export function goldenRows(model: string): number[][] {
  return (JSON.parse(readFileSync(repoPath('models', model, '1', 'golden.json'), 'utf8')) as { rows: number[][] }).rows;
}

const golden = goldenRows;

/** Example graphs with an input that exercises them, and the headers/parameters that pin routing. */
export const EXAMPLES: { graph: string; input: string; rows: number[][]; headers?: Record<string, string>; parameters?: Record<string, unknown> }[] = [
  { graph: 'iris', input: 'features', rows: golden('iris-logreg') },
  { graph: 'iris-ab', input: 'features', rows: golden('iris-logreg'), headers: { 'x-user-id': 'user-7' } },
  { graph: 'iris-ensemble', input: 'features', rows: golden('iris-logreg') },
  { graph: 'iris-conditional', input: 'features', rows: golden('iris-rf'), parameters: { model: 'forest' } },
  { graph: 'iris-custom', input: 'features', rows: golden('iris-mlp') },
  { graph: 'iris-monitored', input: 'features', rows: golden('iris-logreg').slice(0, 10) },
  { graph: 'breast-cancer', input: 'input', rows: golden('breast-cancer-gb') },
  { graph: 'breast-cancer-monitored', input: 'input', rows: golden('breast-cancer-gb').slice(0, 10) },
  { graph: 'digits-batched', input: 'pixels', rows: golden('digits-mlp').slice(0, 10) },
];

